import OutboxCore
import Testing

@testable import OutboxDispatcher

/// Before each request: budgets, the gate, and the claim's proof.
struct DeliveryMachineFenceTests {
    static let halfLease = Duration.milliseconds(ScriptedDelivery.leaseMilliseconds / 2)

    @Test func aBudgetSpentForLongerThanHalfTheLeaseReleasesTheRows() {
        var world = ScriptedDelivery()
        world.spentBudget = [Self.halfLease + .milliseconds(1)]
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        #expect(world.settled.isEmpty)
        #expect(
            world.effects == [
                .log(LogLine(level: .info, message: "holding no claim through a spent budget", metadata: ["meter": "m"])), .release(rowIDs: [1, 2]),
            ])
    }

    @Test func aBudgetSpentForHalfTheLeaseIsWaitedOut() {
        var world = ScriptedDelivery()
        world.spentBudget = [Self.halfLease]
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.count == 1)
        #expect(!world.effects.contains(.release(rowIDs: [1, 2])))
    }

    @Test func anAdmissionThatSaysWaitLongReleasesTheRows() {
        var world = ScriptedDelivery()
        world.admissions = [.wait(Self.halfLease + .seconds(1), budget: "per-minute")]
        world.run(ScriptedDelivery.events(1))
        #expect(world.sent.isEmpty)
        #expect(
            world.logs == [LogLine(level: .info, message: "holding no claim through a spent budget", metadata: ["meter": "m", "budget": "per-minute"])])
        #expect(world.effects.last == .release(rowIDs: [1]))
    }

    @Test func aShortAdmissionWaitIsSleptAndTheClaimProvenAgain() {
        var world = ScriptedDelivery()
        world.admissions = [.wait(.seconds(2), budget: "per-minute")]
        world.run(ScriptedDelivery.events(1))
        #expect(
            Array(world.nexts.prefix(8)) == [
                .fetchToken, .lookAtSpentBudget, .waitUntilRequestCouldGo, .admitRequest, .sleep(.seconds(2)), .lookAtSpentBudget,
                .waitUntilRequestCouldGo, .renewLease(rowIDs: [1]),
            ])
        #expect(world.sent.count == 1)
    }

    @Test func rowsThatMayHaveBeenSentAreGivenBackTogether() {
        var world = ScriptedDelivery()
        world.mayHaveBeenSent = true
        world.spentBudget = [Self.halfLease * 2]
        world.run(ScriptedDelivery.events(2))
        #expect(!world.effects.contains { if case .release = $0 { true } else { false } })
        #expect(world.settled.first?.verdict == .batch(.deferred(reason: "given back unsent; due again at once", delayMilliseconds: 0)))
        #expect(world.settled.first?.keys == .keep(ScriptedDelivery.key(ScriptedDelivery.events(2))))
    }

    @Test func aStoppingWorkerReleasesTheRows() {
        var world = ScriptedDelivery()
        world.gateWaits = [.stopping]
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        #expect(world.effects == [.release(rowIDs: [1, 2])])
    }

    @Test func theFirstRequestGoesOnTheClaimsOwnProof() {
        var world = ScriptedDelivery()
        world.run(ScriptedDelivery.events(1))
        #expect(!world.nexts.contains { if case .renewLease = $0 { true } else { false } })
    }

    @Test func aWaitAtTheGateNeedsARenewal() {
        var world = ScriptedDelivery()
        world.gateWaits = [.openAfterWaiting]
        world.run(ScriptedDelivery.events(1))
        #expect(world.nexts.contains(.renewLease(rowIDs: [1])))
    }

    @Test func aLostClaimDropsItsRowsUnsent() {
        var world = ScriptedDelivery()
        world.answers = .always(.status(400))
        // After the first request every row but e1 (row 2) is lost.
        world.renew = { ids in Set(ids).intersection([2]) }
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent == [["e0", "e1"], ["e1"]])
        #expect(world.settled.map { $0.events.map(\.eventID) } == [["e1"]])
        #expect(world.effects.contains(.count(.dropped(1))))
        #expect(
            world.logs.contains(
                LogLine(
                    level: .warning, message: "lease lost on claimed events: another dispatcher took them over; dropped unsent",
                    metadata: ["meter": "m", "lost": .stringConvertible(1), "kept": .stringConvertible(0)])))
        #expect(!world.effects.contains { if case .release = $0 { true } else { false } })
    }

    @Test func aPartialRenewalAsksAgainForTheRest() {
        var world = ScriptedDelivery()
        world.answers = .rejecting(["e0", "e1", "e2"])
        world.renew = { ids in Set(ids).subtracting([1]) }
        world.run(ScriptedDelivery.events(3))
        #expect(world.nexts.contains(.renewLease(rowIDs: [1, 2])))
        #expect(world.nexts.contains(.renewLease(rowIDs: [2])))
        #expect(world.sent.first == ["e0", "e1", "e2"])
        #expect(world.sent.dropFirst().allSatisfy { !$0.contains("e0") })
        #expect(
            world.logs.contains(
                LogLine(
                    level: .warning, message: "lease lost on claimed events: another dispatcher took them over; dropped unsent",
                    metadata: ["meter": "m", "lost": .stringConvertible(1), "kept": .stringConvertible(1)])))
    }

    @Test func aStoreThatCannotRenewSendsNothingAndReleasesNothing() {
        var world = ScriptedDelivery()
        world.gateWaits = [.openAfterWaiting]
        world.renew = { _ in nil }
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        #expect(world.effects.isEmpty)
        #expect(world.nexts.last == .finished)
    }

    @Test func aClaimLostDuringASlowAdmissionGivesTheSlotBack() {
        var world = ScriptedDelivery()
        world.admissionTakes = .seconds(2)
        world.renew = { _ in [] }
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        #expect(world.nexts.contains(.renewLease(rowIDs: [1, 2])))
        #expect(
            world.effects == [
                .count(.dropped(2)),
                .log(
                    LogLine(
                        level: .warning, message: "lease lost on claimed events: another dispatcher took them over; dropped unsent",
                        metadata: ["meter": "m", "lost": .stringConvertible(2), "kept": .stringConvertible(0)])),
                .finishSlot("slot"),
            ])
    }

    @Test func a401ResendNeedsEveryRowOfItsBody() {
        var world = ScriptedDelivery()
        world.answers = .always(.status(401))
        world.renew = { ids in Set(ids).subtracting([1]) }
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.count == 1)
        #expect(world.settled.isEmpty)
        #expect(world.effects.suffix(2) == [.finishSlot("slot"), .release(rowIDs: [2])])
    }

    @Test func aGateClosedAtTheLastMomentGivesTheSlotBackAndStartsOver() {
        var world = ScriptedDelivery()
        world.gateClosed = [true]
        world.run(ScriptedDelivery.events(1))
        let closed = world.nexts.firstIndex(of: .lookAtGate)!
        #expect(world.actions[closed + 1].effects == [.finishSlot("slot")])
        #expect(world.actions[closed + 1].next == .lookAtSpentBudget)
        #expect(world.sent.count == 1)
    }

    @Test func aBodyThatCannotBeBuiltIsAFailureUnderTheSameKey() {
        var world = ScriptedDelivery()
        world.bodyFails = true
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent.isEmpty)
        #expect(world.effects.first == .finishSlot("slot"))
        #expect(world.settled.first?.verdict == .batch(.failed(reason: "cannot build the request body: no room")))
        #expect(world.settled.first?.keys == .keep(ScriptedDelivery.key(ScriptedDelivery.events(2))))
    }
}

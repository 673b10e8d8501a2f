import OutboxCore
import Testing

@testable import OutboxDispatcher

/// A rejected batch is bisected until the rejected events stand alone; a
/// half whose sibling was accepted holds the rejects, so it is split
/// without being sent: k bad events among n cost about k·log2(n) requests.
struct DeliveryMachineBisectionTests {
    @Test(arguments: [
        // (bad event ids among 8, requests)
        ([String](), 1),
        (["e7"], 5),  // 8, e0-e3 ok, then e4-e7 is split unsent: e4-e5 ok, e6-e7 split unsent: e6 ok, e7
        (["e0"], 7),  // 8, e0-e3, e0-e1, e0, e1, e2-e3, e4-e7: no half is known to hold it
        (["e3", "e4"], 10),
        (["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"], 15),
    ])
    func requestsForBadEventsAmongEight(bad: [String], requests: Int) {
        var world = ScriptedDelivery()
        world.answers = .rejecting(Set(bad))
        world.run(ScriptedDelivery.events(8))
        #expect(world.sent.count == requests)
        // Every event is settled once: the bad ones dead, the others sent.
        let dead = world.settled.filter { if case .batch(.rejected) = $0.verdict { true } else { false } }.flatMap { $0.events.map(\.eventID) }
        let accepted = world.settled.filter { $0.verdict == .batch(.accepted) }.flatMap { $0.events.map(\.eventID) }
        #expect(dead.sorted() == bad.sorted())
        #expect((dead + accepted).sorted() == ScriptedDelivery.events(8).map(\.eventID))
    }

    @Test func aHalfWhoseSiblingWasAcceptedIsSplitUnsent() {
        var world = ScriptedDelivery()
        world.answers = .rejecting(["e7"])
        world.run(ScriptedDelivery.events(8))
        #expect(
            world.sent == [
                ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"], ["e0", "e1", "e2", "e3"], ["e4", "e5"], ["e6"], ["e7"],
            ])
    }

    @Test func aHalfWhoseSiblingWasRejectedIsSent() {
        var world = ScriptedDelivery()
        world.answers = .rejecting(["e0", "e3"])
        world.run(ScriptedDelivery.events(4))
        #expect(world.sent == [["e0", "e1", "e2", "e3"], ["e0", "e1"], ["e0"], ["e1"], ["e2", "e3"], ["e2"], ["e3"]])
    }

    @Test func aSingleEventKnownToHoldTheRejectIsStillSent() {
        var world = ScriptedDelivery()
        world.answers = .rejecting(["e1"])
        world.run(ScriptedDelivery.events(2))
        #expect(world.sent == [["e0", "e1"], ["e0"], ["e1"]])
        #expect(world.settled.map(\.verdict) == [.batch(.accepted), .batch(.rejected(reason: "HTTP 400"))])
    }

    @Test func eachHalfHasAKeyOfItsOwn() {
        var world = ScriptedDelivery()
        world.answers = .rejecting(["e0"])
        world.run(ScriptedDelivery.events(2))
        let events = ScriptedDelivery.events(2)
        #expect(world.sends.map(\.idempotencyKey) == [events, [events[0]], [events[1]]].map(ScriptedDelivery.key))
        // The halves carried by two requests each.
        #expect(world.settled.map { $0.events.map(\.tries) } == [[2], [2]])
    }

    @Test func aTooLargeBatchIsSplitWithoutKnowingEitherHalf() {
        var world = ScriptedDelivery()
        world.answers = .bySize(several: .status(413), one: .status(400))
        world.run(ScriptedDelivery.events(3))
        #expect(world.sent == [["e0", "e1", "e2"], ["e0", "e1"], ["e0"], ["e1"], ["e2"]])
    }
}

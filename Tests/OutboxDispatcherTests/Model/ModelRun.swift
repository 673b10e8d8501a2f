import Foundation

@testable import OutboxCore
@testable import OutboxDispatcher

/// Where a model run broke: the step (its index in the run; the run's
/// length for the final drain) and what did not hold.
struct ModelFailure: Error, CustomStringConvertible {
    let step: Int
    let message: String
    var description: String { "step \(step): \(message)" }
}

/// Runs operations against a store and the model side by side, and checks
/// after every step that they agree: what a claim may take, what a
/// settlement, renewal or release applies to, the counters, `verify`, and,
/// at the end, that a final drain delivers every event still owed, once.
final class ModelRun {
    /// A claim the run holds: the store's answer, and the fence a dispatcher
    /// would keep for it (`send` goes through it).
    struct HeldClaim {
        let number: Int
        let claim: Claim
        var fence: ClaimFence
    }

    let subject: ModelSubject
    private(set) var model = StoreModel()
    private var claims: [HeldClaim] = []
    private var nextEvent = 0
    private var step = 0
    /// The fences' monotonic time: it moves only with `advanceTime`.
    private var now = ContinuousClock.now
    private static let verifyEvery = 20

    init(subject: ModelSubject) {
        self.subject = subject
    }

    private var store: any OperatedStore { subject.store }

    /// The run's own id of a claimed event: its `EventId` field (the
    /// outbox's public id is its own UUID, learned here).
    static func modelID(_ event: ClaimedEvent) -> String {
        let body = String(decoding: event.body, as: UTF8.self)
        guard let start = body.range(of: #""EventId":""#)?.upperBound, let end = body[start...].firstIndex(of: "\"") else { return "?" }
        return String(body[start..<end])
    }

    private func fail(_ message: String) -> ModelFailure {
        ModelFailure(step: step, message: message)
    }

    private func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw fail(message()) }
    }

    /// Runs `operations`, then the final drain; throws the first `ModelFailure`.
    func run(_ operations: [ModelOperation]) async throws {
        for (index, operation) in operations.enumerated() {
            step = index
            do {
                try await execute(operation)
                try await checkCounters()
                if index % Self.verifyEvery == Self.verifyEvery - 1 { try await checkVerify() }
            } catch let failure as ModelFailure {
                throw failure
            } catch {
                throw fail("\(operation) threw \(error)")
            }
        }
        step = operations.count
        do {
            try await finalDrain()
        } catch let failure as ModelFailure {
            throw failure
        } catch {
            throw fail("the final drain threw \(error)")
        }
    }

    // MARK: Operations

    private func meterName(_ meter: Int) -> String { "m\(meter)" }

    private func makeEvents(_ count: Int) -> [(id: String, json: String)] {
        (0..<count).map { _ in
            nextEvent += 1
            let id = "ev-\(nextEvent)"
            return (id, #"{"EventId":"\#(id)","CustomerId":"C-\#(nextEvent)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":1}"#)
        }
    }

    private func execute(_ operation: ModelOperation) async throws {
        switch operation {
        case .append(let meter, let count, let kind): try await append(meterName(meter), count: count, kind: kind)
        case .claim(let meter, let limit, let small): try await claim(meterName(meter), limit: limit, maxBytes: small ? 300 : 1 << 20)
        case .settle(let claim, let part, let outcome):
            // An answer to a request the fence is not asked about: the
            // request went out, so the fence's proof is spent.
            guard let index = pick(claim) else { return }
            claims[index].fence.sending()
            try await settle(index, part.pick(claims[index].claim.events), outcome)
        case .send(let claim, let part, let outcome):
            guard let index = pick(claim) else { return }
            try await send(index, part.pick(claims[index].claim.events), outcome)
        case .renew(let claim, let part):
            guard let index = pick(claim) else { return }
            try await renew(index, part.pick(claims[index].claim.events))
        case .release(let claim, let part):
            // A dispatcher gives rows back only when it will not send them;
            // any later request of the claim must prove it again.
            guard let index = pick(claim) else { return }
            claims[index].fence.waited()
            try await release(index, part.pick(claims[index].claim.events))
        case .advanceTime:
            try await subject.advanceTime()
            model.timePassed()
            now += .milliseconds(ModelSubject.advanceMilliseconds)
        case .retryDeadLetters(let meter, let pick): try await changeDeadLetters(meterName(meter), pick: pick, retry: true)
        case .purgeDeadLetters(let meter, let pick): try await changeDeadLetters(meterName(meter), pick: pick, retry: false)
        case .retention: try await retention()
        case .reconcile(let meter, let pick): try await reconcile(meterName(meter), pick: pick)
        case .pause(let meter): try await pause(meterName(meter), paused: true)
        case .resume(let meter): try await pause(meterName(meter), paused: false)
        case .reopen: try await subject.reopen()
        }
    }

    /// The k-th most recent claim, among the last six.
    private func pick(_ k: Int) -> Int? {
        guard !claims.isEmpty else { return nil }
        return claims.count - 1 - (k % min(claims.count, 6))
    }

    private func append(_ meter: String, count: Int, kind: ModelOperation.AppendKind) async throws {
        let events = makeEvents(count)
        let jsons = events.map(\.json)
        let ids = events.map(\.id)
        switch kind {
        case .single, .batch, .transactional:
            let returned: [EventID]
            switch kind {
            case .single where count == 1: returned = [try await store.append(json: jsons[0], meter: meter)]
            case .transactional: returned = try await subject.appendInTransaction(jsons, meter: meter, rollBack: false)
            default: returned = try await store.append(jsonEvents: jsons, meter: meter)
            }
            try expect(returned.count == count && Set(returned).count == count, "an append of \(count) events returned \(returned.count) ids")
            model.appended(ids, meter: meter)
        case .file, .pipe:
            let text = jsons.joined(separator: "\n") + "\n"
            let appended = try await kind == .file ? appendFile(text, meter: meter) : appendPipe(text, meter: meter)
            try expect(appended == count, "a streamed append of \(count) events appended \(appended)")
            model.appended(ids, meter: meter)
        case .invalid:
            let bad = #"{"EventId":"bad","CustomerId":"C","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":"x"}"#
            do {
                _ = try await store.append(jsonEvents: jsons + [bad], meter: meter)
                throw fail("an append holding an invalid event was accepted")
            } catch let error as OutboxError {
                try expect(error.code == .invalidInput, "an invalid append failed with \(error.code), not invalid input")
            }
        case .rolledBack:
            do {
                _ = try await subject.appendInTransaction(jsons, meter: meter, rollBack: true)
                throw fail("a rolled-back transaction returned")
            } catch is ModelFailure {
                throw fail("a rolled-back transaction returned")
            } catch {}
        }
    }

    private func appendFile(_ text: String, meter: String) async throws -> Int {
        let path = NSTemporaryDirectory() + "model-append-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        return try await store.appendStream(fileDescriptor: fd, meter: meter, progress: nil)
    }

    private func appendPipe(_ text: String, meter: String) async throws -> Int {
        let ends = PipeInput.make()
        let writer = PipeInput.write(Array(text.utf8), to: ends.write, thenClose: true)
        defer { close(ends.read) }
        let appended = try await store.appendStream(fileDescriptor: ends.read, meter: meter, progress: nil)
        await writer.value
        return appended
    }

    private func claim(_ meter: String, limit: Int, maxBytes: Int) async throws {
        let number = claims.count
        let claim = try await store.claim(meter: meter, owner: "model", limit: limit, maxBytes: maxBytes, leaseMilliseconds: ModelSubject.leaseMilliseconds)
        let certain = model.ids(in: meter) { StoreModel.isClaimable($0, certain: true) }
        let paused = model.paused.contains(meter)
        guard let claim else {
            try expect(paused || certain.isEmpty, "a claim of \(meter) found nothing, but \(certain.prefix(5)) are due")
            return
        }
        try expect(!paused, "a claim took events of the paused meter \(meter)")
        try expect(!claim.events.isEmpty && claim.events.count <= limit, "a claim with limit \(limit) took \(claim.events.count) events")
        try expect(Set(claim.events.map(\.eventID)).count == claim.events.count, "a claim took an event twice")
        if claim.events.count > 1 {
            let arrayBytes = claim.events.reduce(1) { $0 + $1.body.count + 1 }
            try expect(arrayBytes <= maxBytes, "a claim of \(claim.events.count) events spans \(arrayBytes) bytes, over its budget of \(maxBytes)")
        }
        for event in claim.events {
            guard let known = model[Self.modelID(event)] else { throw fail("a claim took \(Self.modelID(event)), which was never appended") }
            try expect(known.meter == meter, "a claim of \(meter) took \(Self.modelID(event)) of \(known.meter)")
            try expect(
                StoreModel.isClaimable(known, certain: false),
                "a claim took \(Self.modelID(event)), which is \(known.state)\(known.holder.map { " (held by claim \($0), lease \(known.lease))" } ?? "")")
            if let rowID = known.rowID { try expect(rowID == event.rowID, "\(Self.modelID(event)) came back with row \(event.rowID), was \(rowID)") }
        }
        for event in claim.events { model.claimed(Self.modelID(event), rowID: event.rowID, publicID: event.eventID, by: number) }
        claims.append(
            HeldClaim(
                number: number, claim: claim, fence: ClaimFence(claim: claim, claimedAt: now, requestTimeout: .seconds(1), injectedDefects: subject.defects)))
    }

    private func settlement(_ events: [ClaimedEvent], _ outcome: ModelOperation.Outcome, meter: String) -> Settlement {
        let rows = events.enumerated().map { index, event -> Settlement.Row in
            let kind: ModelOperation.Outcome = outcome == .mixed ? [.sent, .retry, .dead][index % 3] : outcome
            switch kind {
            case .sent, .mixed: return .init(rowID: event.rowID, outcome: .sent)
            case .retry: return .init(rowID: event.rowID, outcome: .retry(afterMilliseconds: ModelSubject.leaseMilliseconds, attempts: event.attempts + 1))
            case .dead: return .init(rowID: event.rowID, outcome: .dead(reason: "model: rejected", attempts: event.attempts))
            }
        }
        return Settlement(
            meter: meter, rows: rows, record: .init(status: outcome == .sent ? 200 : 400, responseBody: "{}", trackID: "model"),
            meterFailure: outcome == .sent ? nil : "model failure", isSuccess: outcome == .sent)
    }

    private func settle(_ index: Int, _ events: [ClaimedEvent], _ outcome: ModelOperation.Outcome) async throws {
        guard !events.isEmpty else { return }
        let held = claims[index]
        let plan = settlement(events, outcome, meter: held.claim.meter)
        var expected = SettlementResult()
        for row in plan.rows {
            let id = Self.modelID(events.first { $0.rowID == row.rowID }!)
            guard model.isHeld(id, by: held.number) else {
                expected.lost += 1
                continue
            }
            switch row.outcome.state {
            case .sent: expected.sent += 1
            case .failed: expected.retried += 1
            case .dead: expected.dead += 1
            default: break
            }
        }
        let result = try await store.settle(plan, token: held.claim.token)
        try expect(result == expected, "settling \(events.count) events of claim \(held.number) gave \(result), the model says \(expected)")
        for (event, row) in zip(events, plan.rows) where model.isHeld(Self.modelID(event), by: held.number) {
            model.settled(Self.modelID(event), as: Self.state(row.outcome.state))
        }
    }

    private static func state(_ state: EventState) -> StoreModel.State {
        switch state {
        case .pending: .pending
        case .inflight: .held
        case .failed: .failed
        case .sent: .sent
        case .dead: .dead
        }
    }

    /// The dispatcher's path: renew through the fence when it says so, and
    /// send only what it proved. A request must never leave with an event
    /// its claim does not hold.
    private func send(_ index: Int, _ events: [ClaimedEvent], _ outcome: ModelOperation.Outcome) async throws {
        guard !events.isEmpty else { return }
        var held = claims[index]
        var toSend = events
        if held.fence.needsRenewal(now: now) {
            var problem: String?
            let claim = held
            let renewal = await held.fence.renew(events, now: { self.now }) { ids in
                do {
                    let found = try await self.store.renewLease(ids, token: claim.claim.token, leaseMilliseconds: ModelSubject.leaseMilliseconds)
                    if let mismatch = self.checkRenewal(ids, found, claim: claim) { problem = problem ?? mismatch }
                    return found
                } catch {
                    problem = problem ?? "a renewal threw \(error)"
                    return nil
                }
            }
            claims[index] = held
            if let problem { throw fail(problem) }
            switch renewal {
            case .unknown: throw fail("a renewal could not be made")
            case .lost: return
            case .held(let kept, _): toSend = kept
            }
        }
        for event in toSend where !model.isHeld(Self.modelID(event), by: held.number) {
            let known = model[Self.modelID(event)]
            throw fail(
                "a request left with \(Self.modelID(event)), which claim \(held.number) does not hold: it is \(known?.state.description ?? "unknown")"
                    + (known?.holder.map { " by claim \($0)" } ?? ""))
        }
        held.fence.sending()
        claims[index] = held
        try await settle(index, toSend, outcome)
    }

    /// Whether a renewal held exactly what the model says the claim holds;
    /// records what it renewed. Nil when it agrees.
    private func checkRenewal(_ ids: [Int64], _ found: Set<Int64>, claim: HeldClaim) -> String? {
        let byRow = Dictionary(claim.claim.events.map { ($0.rowID, Self.modelID($0)) }, uniquingKeysWith: { first, _ in first })
        let expected = Set(ids.filter { byRow[$0].map { model.isHeld($0, by: claim.number) } ?? false })
        model.renewed(Set(found.compactMap { byRow[$0] }), by: claim.number)
        guard found == expected else {
            return "a renewal of claim \(claim.number) held rows \(found.sorted()), the model says \(expected.sorted())"
        }
        return nil
    }

    private func renew(_ index: Int, _ events: [ClaimedEvent]) async throws {
        guard !events.isEmpty else { return }
        let held = claims[index]
        let ids = events.map(\.rowID)
        let found = try await store.renewLease(ids, token: held.claim.token, leaseMilliseconds: ModelSubject.leaseMilliseconds)
        if let mismatch = checkRenewal(ids, found, claim: held) { throw fail(mismatch) }
    }

    private func release(_ index: Int, _ events: [ClaimedEvent]) async throws {
        guard !events.isEmpty else { return }
        let held = claims[index]
        let expected = events.filter { model.isHeld(Self.modelID($0), by: held.number) }
        let released = try await store.release(events.map(\.rowID), meter: held.claim.meter, token: held.claim.token)
        try expect(
            released == expected.count, "releasing \(events.count) events of claim \(held.number) released \(released), the model says \(expected.count)")
        for event in expected { model.released(Self.modelID(event)) }
    }

    private func changeDeadLetters(_ meter: String, pick: Int, retry: Bool) async throws {
        let dead = model.ids(in: meter) { $0.state == .dead }
        let selection: DeadLetterSelection
        var chosen: [String]
        if pick == 0 {
            selection = DeadLetterSelection(meter: meter)
            chosen = dead
        } else if pick > 0 {
            chosen = Array(dead.prefix(pick))
            guard !chosen.isEmpty else { return }
            selection = DeadLetterSelection(ids: chosen.compactMap { model[$0]?.publicID })
        } else {
            // One id that names no dead letter: an error, and nothing changes.
            let notDead = model.ids(in: meter) { $0.state != .dead && $0.publicID != nil }.first.flatMap { model[$0]?.publicID } ?? "no-such-id"
            selection = DeadLetterSelection(ids: dead.prefix(1).compactMap { model[$0]?.publicID } + [notDead])
            do {
                _ = try await retry ? store.retryDeadLetters(selection) : store.purgeDeadLetters(selection)
                throw fail("a dead-letter selection naming \(notDead) (not a dead letter) was accepted")
            } catch let error as OutboxError {
                try expect(error.code == .unknownIDs, "an unknown dead-letter id failed with \(error.code)")
            }
            return
        }
        let changed = try await retry ? store.retryDeadLetters(selection) : store.purgeDeadLetters(selection)
        try expect(changed == chosen.count, "\(retry ? "retrying" : "purging") \(chosen.count) dead letters of \(meter) changed \(changed)")
        for id in chosen {
            if retry { model.revived(id) } else { model.set(id, .purgedDead) }
        }
    }

    private func retention() async throws {
        let sent = model.events.values.filter { $0.state == .sent }.map(\.eventID)
        let result = try await store.purgeSent(before: Int64.max)
        try expect(result.purged == sent.count, "retention purged \(result.purged) events, the model has \(sent.count) sent")
        for id in sent { model.set(id, .purged) }
    }

    private func reconcile(_ meter: String, pick: Int) async throws {
        let sent = model.ids(in: meter) { $0.state == .sent }
        // Sometimes with an event that is no longer sent: it must not move.
        let other = model.ids(in: meter) { ![.sent, .purged, .purgedDead].contains($0.state) && $0.rowID != nil }.last
        let chosen = Array(sent.prefix(pick)) + (pick == 3 ? [other].compactMap { $0 } : [])
        guard !chosen.isEmpty else { return }
        let rejections = chosen.compactMap { id in model[id]?.rowID.map { LateRejection(rowID: $0, reason: "late", responseBody: "{}") } }
        let entries = chosen.enumerated().map { AppliedAuditEntry(traceID: "trace-\(step)-\($0.offset)", eventID: "zuora-\($0.element)") }
        let moved = try await store.applyLateRejections(rejections, meter: meter, remember: entries)
        let expected = chosen.filter { model[$0]?.state == .sent }
        try expect(moved == expected.count, "reconcile moved \(moved) events of \(meter) to dead, the model says \(expected.count)")
        for id in expected { model.lateRejected(id) }
    }

    private func pause(_ meter: String, paused: Bool) async throws {
        do {
            if paused { try await store.pauseMeter(meter, reason: "model") } else { try await store.resumeMeter(meter) }
            try expect(model.knownMeters.contains(meter), "pausing or resuming \(meter), which has no events, was accepted")
            if paused { model.paused.insert(meter) } else { model.paused.remove(meter) }
        } catch let error as OutboxError where error.code == .unknownMeter {
            try expect(!model.knownMeters.contains(meter), "pausing or resuming \(meter) said it is unknown")
        }
    }

    // MARK: Checks

    private func checkCounters() async throws {
        let status = try await store.status()
        for meter in model.knownMeters.sorted() {
            let counts = status.meters[meter]?.counts ?? StateCounts()
            try expect(counts == model.counts(meter), "\(meter)'s counters say \(counts), the model says \(model.counts(meter))")
        }
    }

    private func checkVerify() async throws {
        let report = try await store.verify()
        let problems = report.meters.flatMap { check in check.problems.map { "\(check.meter): \($0)" } }
        try expect(report.isOK, "verify fails: \(problems.joined(separator: "; ")) \(report.integrity)")
        let withWork = try await store.metersWithWork().sorted()
        let expected = model.knownMeters.filter { !model.paused.contains($0) && !model.owed($0).isEmpty }.sorted()
        try expect(withWork == expected, "meters with work are \(withWork), the model says \(expected)")
    }

    /// Every meter resumed, every lease lapsed, every retry due: claims
    /// until nothing is left must deliver each owed event exactly once.
    private func finalDrain() async throws {
        for meter in model.paused { try await store.resumeMeter(meter) }
        model.paused.removeAll()
        try await subject.advanceTime()
        model.timePassed()
        let owed = model.owed()
        var delivered = Set<String>()
        for meter in model.knownMeters.sorted() {
            var rounds = 0
            while let claim = try await store.claim(
                meter: meter, owner: "final", limit: 1000, maxBytes: 1 << 20, leaseMilliseconds: ModelSubject.leaseMilliseconds)
            {
                rounds += 1
                try expect(rounds <= 10_000, "the final drain of \(meter) does not end")
                for event in claim.events {
                    try expect(!delivered.contains(Self.modelID(event)), "the final drain delivered \(Self.modelID(event)) twice")
                    let state = model[Self.modelID(event)]?.state.description ?? "never appended"
                    try expect(owed.contains(Self.modelID(event)), "the final drain delivered \(Self.modelID(event)), which is \(state)")
                    delivered.insert(Self.modelID(event))
                }
                let plan = Settlement(
                    meter: meter, rows: claim.events.map { .init(rowID: $0.rowID, outcome: .sent) }, record: .init(), meterFailure: nil, isSuccess: true)
                let result = try await store.settle(plan, token: claim.token)
                try expect(result.sent == claim.events.count, "the final drain's settlement applied \(result)")
                for event in claim.events {
                    model.claimed(Self.modelID(event), rowID: event.rowID, publicID: event.eventID, by: -1)
                    model.settled(Self.modelID(event), as: .sent)
                }
            }
        }
        let missing = owed.subtracting(delivered)
        try expect(missing.isEmpty, "the final drain never delivered \(missing.count) owed events: \(missing.sorted().prefix(5))")
        let twice = model.events.values.filter { $0.accepted > 1 }.map(\.eventID)
        try expect(twice.isEmpty, "accepted more than once: \(twice.sorted().prefix(5))")
        try await checkCounters()
        try expect(try await store.undeliveredCount() == 0, "events remain undelivered after the final drain")
        try await checkVerify()
    }
}

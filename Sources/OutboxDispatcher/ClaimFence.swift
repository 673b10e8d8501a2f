import OutboxCore

/// What a worker knows about the claim it is delivering: its token, and
/// when it last proved (by claiming or renewing) that the rows were still
/// its own. A request goes out only right after such a proof: the claim
/// itself covers the first request that follows it at once; any later
/// request (a bisection half, a resend after a 401), any request after a
/// wait, and any request once the proof is older than `maxAge` renews the
/// lease first, and sends only the rows the renewal still holds.
struct ClaimFence {
    /// How old a proof may be and still cover a request, at most.
    static let maxAge = Duration.seconds(1)

    let token: ClaimToken
    let meter: String
    let leaseMilliseconds: Int64
    /// How old a proof may be here: at most `maxAge`, and at most half of
    /// what the lease leaves beyond a whole request, so a request sent on
    /// the proof ends (by its deadline) before the lease can lapse.
    let freshness: Duration
    /// Taken before the claim or renewal was issued, so it errs early.
    private(set) var provenAt: ContinuousClock.Instant
    private var requestsSinceProof = 0
    private var waitedSinceProof = false
    /// Defects a test switched back on (never in production).
    let injectedDefects: Set<InjectedDefect>

    /// See `Claim.mayHaveBeenSent`.
    let mayHaveBeenSent: Bool

    init(claim: Claim, claimedAt: ContinuousClock.Instant, requestTimeout: Duration, injectedDefects: Set<InjectedDefect> = []) {
        token = claim.token
        meter = claim.meter
        leaseMilliseconds = claim.leaseMilliseconds
        mayHaveBeenSent = claim.mayHaveBeenSent
        let slack = Duration.milliseconds(claim.leaseMilliseconds) - requestTimeout
        freshness = max(.zero, min(ClaimFence.maxAge, slack / 2))
        provenAt = claimedAt
        self.injectedDefects = injectedDefects
    }

    /// Whether the lease must be renewed before the next request.
    func needsRenewal(now: ContinuousClock.Instant) -> Bool {
        requestsSinceProof > 0 || waitedSinceProof || provenAt.duration(to: now) > freshness
    }

    /// A wait happened (the rate-limit gate): the lease may have lapsed.
    mutating func waited() { waitedSinceProof = true }

    /// A renewal issued at `instant` held the rows.
    mutating func renewed(at instant: ContinuousClock.Instant) {
        provenAt = instant
        requestsSinceProof = 0
        waitedSinceProof = false
    }

    /// A request is about to go out on the current proof.
    mutating func sending() { requestsSinceProof += 1 }

    /// What a renewal before a request came to.
    enum Renewal: Equatable {
        /// The claim holds these rows (all that were asked for, less those
        /// `dropped` because another dispatcher took them over).
        case held([ClaimedEvent], dropped: Int)
        /// None of the rows is held any more.
        case lost(dropped: Int)
        /// The store could not be asked: send nothing.
        case unknown
    }

    /// What one renewal's answer means, and what comes next.
    enum RenewalStep: Equatable {
        /// Proof: the claim holds these rows (`dropped` were lost on the way).
        case proven([ClaimedEvent], dropped: Int)
        /// Some rows were lost: renew again for these, the rest.
        case renewAgain([ClaimedEvent], dropped: Int)
        /// None of the rows is held any more.
        case lost(dropped: Int)
    }

    /// A renewal issued at `issuedAt` for `asked` held the rows in `held`.
    /// Only one that held every row it asked for is proof; one that held
    /// fewer drops the lost rows and asks again for the rest, so the proof
    /// never covers rows that another dispatcher holds. `droppedBefore`:
    /// rows dropped by earlier renewals of the same proof.
    mutating func renewalAnswered(
        asked events: [ClaimedEvent], held: Set<Int64>, issuedAt: ContinuousClock.Instant, droppedBefore: Int
    ) -> RenewalStep {
        let kept = events.filter { held.contains($0.rowID) }
        if kept.count == events.count {
            renewed(at: issuedAt)
            return .proven(events, dropped: droppedBefore)
        }
        let dropped = droppedBefore + events.count - kept.count
        if injectedDefects.contains(.partialRenewalCountsAsProof) {
            renewed(at: issuedAt)
            return kept.isEmpty ? .lost(dropped: dropped) : .proven(kept, dropped: dropped)
        }
        return kept.isEmpty ? .lost(dropped: dropped) : .renewAgain(kept, dropped: dropped)
    }

    /// Renews the lease on `events` (`renewing` asks the store, nil when it
    /// failed), step by step as `renewalAnswered` says.
    mutating func renew(
        _ events: [ClaimedEvent], now: () -> ContinuousClock.Instant, renewing: ([Int64]) async -> Set<Int64>?
    ) async -> Renewal {
        var events = events
        var dropped = 0
        while !events.isEmpty {
            let issued = now()
            guard let held = await renewing(events.map(\.rowID)) else { return .unknown }
            switch renewalAnswered(asked: events, held: held, issuedAt: issued, droppedBefore: dropped) {
            case .proven(let kept, let lost): return .held(kept, dropped: lost)
            case .lost(let lost): return .lost(dropped: lost)
            case .renewAgain(let kept, let lost): (events, dropped) = (kept, lost)
            }
        }
        return .lost(dropped: dropped)
    }
}

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

    /// Renews the lease on `events` (`renewing` asks the store, nil when it
    /// failed). Only a renewal that held every row it asked for is proof: one
    /// that held fewer drops the lost rows and renews again for the rest, so
    /// the proof never covers rows that another dispatcher holds.
    mutating func renew(
        _ events: [ClaimedEvent], now: () -> ContinuousClock.Instant, renewing: ([Int64]) async -> Set<Int64>?
    ) async -> Renewal {
        var events = events
        var dropped = 0
        while !events.isEmpty {
            let issued = now()
            guard let held = await renewing(events.map(\.rowID)) else { return .unknown }
            let kept = events.filter { held.contains($0.rowID) }
            if kept.count == events.count {
                renewed(at: issued)
                return .held(events, dropped: dropped)
            }
            dropped += events.count - kept.count
            events = kept
            if injectedDefects.contains(.partialRenewalCountsAsProof) {
                renewed(at: issued)
                return events.isEmpty ? .lost(dropped: dropped) : .held(events, dropped: dropped)
            }
        }
        return .lost(dropped: dropped)
    }
}

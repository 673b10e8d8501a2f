import OutboxCore

/// What a worker knows about the claim it is delivering: its token, and
/// when it last proved (by claiming or renewing) that the rows were still
/// its own. A request goes out only right after such a proof: the claim
/// itself covers the first request that follows it at once; any later
/// request (a bisection half, a resend after a 401), any request after a
/// wait, and any request once the proof is older than `maxAge` renews the
/// lease first, and sends only the rows the renewal still holds.
struct ClaimFence {
    /// How old a proof may be and still cover a request.
    static let maxAge = Duration.seconds(1)

    let token: ClaimToken
    let meter: String
    let leaseMilliseconds: Int64
    /// Taken before the claim or renewal was issued, so it errs early.
    private(set) var provenAt: ContinuousClock.Instant
    private var requestsSinceProof = 0
    private var waitedSinceProof = false

    init(claim: Claim, claimedAt: ContinuousClock.Instant) {
        token = claim.token
        meter = claim.meter
        leaseMilliseconds = claim.leaseMilliseconds
        provenAt = claimedAt
    }

    /// Whether the lease must be renewed before the next request.
    func needsRenewal(now: ContinuousClock.Instant) -> Bool {
        requestsSinceProof > 0 || waitedSinceProof || provenAt.duration(to: now) > ClaimFence.maxAge
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
}

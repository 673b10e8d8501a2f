import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Reads a meter's audit trail: `GET {base}/meters/{id}/auditTrail/entries`,
/// the ERROR entries of live runs in a time window, page by page. Same base
/// URL, token, headers, timeouts and TLS rules as the usage requests;
/// transient failures (timeouts, 429, 5xx) are retried a few times.
struct AuditTrailClient: Sendable {
    static let pageSize = AuditTrailPage.maxEntries
    static let attempts = 5
    /// Most of one page read, inflated: 500 entries of a few KiB each fit
    /// many times. The client's decompression limit is the same.
    static let maxBodyBytes = 16 << 20

    let http: HTTPClient
    let endpoint: ZuoraEndpoint
    let tokens: TokenProvider
    let configuration: DispatcherConfiguration
    /// The shared request budgets (audit reads count like usage requests).
    let budget: SharedRequestBudget

    enum Failure: Error, CustomStringConvertible {
        /// The meter id is not a meter of this tenant (404).
        case noSuchMeter(Int64)
        /// Refused: credentials or permission (401 after a fresh token, 403).
        case refused(String)
        /// Zuora could not be read (it may be, later).
        case unreachable(String)

        var description: String {
            switch self {
            case .noSuchMeter(let id): "Zuora has no meter with id \(id) (HTTP 404)"
            case .refused(let message): message
            case .unreachable(let message): message
            }
        }
    }

    /// One page of the window `[from, to]` (unix ms), after `cursor`.
    func page(meterID: Int64, from: Int64, to: Int64, cursor: String?) async throws(Failure) -> AuditTrailPage {
        var query =
            "exportType=ERROR&runType=NORMAL&queryFromTime=\(RFC3339.formatSeconds(unixMilliseconds: from))&queryToTime=\(RFC3339.formatSeconds(unixMilliseconds: to))&pageSize=\(Self.pageSize)"
        if let cursor { query += "&cursor=" + FormEncoding.encode(cursor) }
        let url = endpoint.base + "/meters/\(meterID)/auditTrail/entries?" + query
        var lastFailure = "no attempt"
        var refreshed = false
        var attempt = 0
        while attempt < Self.attempts {
            attempt += 1
            let token: TokenProvider.Token
            do {
                token = try await tokens.token(client: http)
            } catch let error as TokenError {
                switch error {
                case .rejected(let message, _):
                    throw .refused(message)
                case .unavailable(let message, let wait):
                    lastFailure = message
                    await pause(attempt: attempt, hint: wait)
                    continue
                }
            } catch {
                lastFailure = "\(error)"
                await pause(attempt: attempt, hint: nil)
                continue
            }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            request.headers.add(name: "Accept", value: "application/json")
            request.headers.add(name: "Accept-Encoding", value: "gzip")
            request.headers.add(name: "Authorization", value: "Bearer " + token.value.reveal())
            request.headers.add(name: "Zuora-Track-Id", value: TrackID.sanitize("\(configuration.trackIDPrefix)-audit-\(meterID)-\(attempt)"))
            request.headers.add(name: "User-Agent", value: "outbox/0.1")
            if let entityIDs = HeaderValue.list(configuration.entityIDs) { request.headers.add(name: "Zuora-Entity-Ids", value: entityIDs) }
            if let orgIDs = HeaderValue.list(configuration.orgIDs) { request.headers.add(name: "Zuora-Org-Ids", value: orgIDs) }
            let holder = try await admitted(meterID: meterID)
            do {
                let (http, limit, prepared) = (self.http, configuration.requestTimeout, request)
                let answer: (Int, HTTPHeaders, [UInt8])
                do {
                    answer = try await RequestDeadline.run(within: limit) {
                        let response = try await http.execute(prepared, timeout: .nanoseconds(limit.nanoseconds))
                        let body = Array(try await response.body.collect(upTo: Self.maxBodyBytes).readableBytesView)
                        return (Int(response.status.code), response.headers, body)
                    }
                } catch {
                    await budget.finish(holder)
                    throw error
                }
                await budget.finish(holder)
                let (status, headers, body) = answer
                switch status {
                case 200..<300:
                    do {
                        return try AuditTrailPage.parse(body)
                    } catch {
                        throw Failure.unreachable("the audit trail of meter \(meterID) answered in a shape this outbox cannot read: \(error)")
                    }
                case 401 where !refreshed:
                    refreshed = true
                    _ = try? await tokens.tokenRejected(token, client: http)
                    attempt -= 1
                case 401, 403:
                    throw Failure.refused("Zuora refused to show the audit trail of meter \(meterID) (HTTP \(status))")
                case 404:
                    throw Failure.noSuchMeter(meterID)
                case 429, 500..<600:
                    lastFailure = "HTTP \(status)"
                    let hint = RetryAfter.seconds(
                        retryAfter: headers.first(name: "Retry-After"),
                        rateLimitReset: headers.first(name: "ratelimit-reset"),
                        nowUnixSeconds: Date().timeIntervalSince1970)
                    await pause(attempt: attempt, hint: hint)
                default:
                    throw Failure.unreachable(
                        "the audit trail of meter \(meterID) answered HTTP \(status): \(RejectionReason.describe(status: status, body: body))")
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                lastFailure = TransportFailure.describe(error)
                await pause(attempt: attempt, hint: nil)
            }
        }
        throw .unreachable("cannot read the audit trail of meter \(meterID) after \(Self.attempts) attempts: \(lastFailure)")
    }

    /// The longest a read waits for a spent budget; beyond it the run
    /// ends as "could not be read" (exit 75), to be run again later.
    static let longestBudgetWait: Duration = .seconds(60)

    /// Waits until the shared budgets admit one more request. Returns the
    /// slot to give back (nil without a concurrency cap).
    private func admitted(meterID: Int64) async throws(Failure) -> String? {
        while true {
            switch await budget.admit() {
            case .admitted(let holder): return holder
            case .unknown: throw .unreachable("cannot ask the store for a request slot for the audit trail of meter \(meterID)")
            case .wait(let wait, let name):
                if wait > Self.longestBudgetWait {
                    throw .unreachable(
                        "the shared \(name) request budget is spent for \(Int(wait.milliseconds / 1000)) s more; reconcile again after that")
                }
                try? await configuration.clock.sleep(until: configuration.clock.monotonicNow() + wait)
                if Task.isCancelled { throw .unreachable("stopped while waiting for the shared request budget") }
            }
        }
    }

    /// Waits before the next attempt: Zuora's hint (up to a minute), else
    /// the backoff, capped at 10 s (a reconcile run should not stall).
    private func pause(attempt: Int, hint: Double?) async {
        guard attempt < Self.attempts else { return }
        let seconds = min(hint ?? configuration.backoff.delay(attempt: attempt).seconds, hint == nil ? 10 : 60)
        try? await configuration.clock.sleep(until: configuration.clock.monotonicNow() + .milliseconds(Int64(seconds * 1000)))
    }
}

/// What reading one page of a meter's audit trail says about its meter id
/// (`Reconciler.probeMeters()`, run by `outbox check`).
package enum MeterProbe: Sendable, Equatable {
    /// Zuora knows the meter id.
    case found
    /// The meter id names no meter of this tenant (404): a configuration
    /// error that waiting cannot fix.
    case noSuchMeter(Int64)
    /// Zuora refused the read (credentials, permission).
    case refused(String)
    /// Zuora could not be read just now.
    case unreachable(String)
}

extension Reconciler {
    /// Reads the last minute of each mapped meter's audit trail, one page,
    /// applying nothing: proof that each meter id is one of this tenant's
    /// before a reconcile depends on it. Each read takes from the shared
    /// request budgets, as any request does.
    package func probeMeters() async -> [(meter: String, meterID: Int64, probe: MeterProbe)] {
        let http = ZuoraClient.makeHTTPClient(configuration: configuration, maxDecompressedBytes: AuditTrailClient.maxBodyBytes)
        let client = AuditTrailClient(http: http, endpoint: endpoint, tokens: tokens, configuration: configuration, budget: budget)
        let to = configuration.clock.wallMilliseconds()
        var results: [(meter: String, meterID: Int64, probe: MeterProbe)] = []
        for (meter, meterID) in meterIDs.sorted(by: { $0.key < $1.key }) {
            let probe: MeterProbe
            do {
                _ = try await client.page(meterID: meterID, from: to - 60_000, to: to, cursor: nil)
                probe = .found
            } catch {
                switch error {
                case .noSuchMeter(let id): probe = .noSuchMeter(id)
                case .refused(let message): probe = .refused(message)
                case .unreachable(let message): probe = .unreachable(message)
                }
            }
            results.append((meter, meterID, probe))
        }
        try? await http.shutdown()
        return results
    }
}

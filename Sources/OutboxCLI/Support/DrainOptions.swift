import ArgumentParser
import Foundation
import Logging
import OutboxDispatcher

/// Zuora's address and how to talk to it: shared by `drain`, `reconcile`
/// and `config show`. Each flag is declared from its entry in `Settings`.
struct ZuoraOptions: ParsableArguments {
    @Option(name: .customLong(Settings.baseURL.key), help: Settings.baseURL.help)
    var baseURL: String?

    @Option(name: .customLong(Settings.zuoraEnvironment.key), help: Settings.zuoraEnvironment.help)
    var zuoraEnvironment: ZuoraEnvironment?

    @Option(name: .customLong(Settings.entityIDs.key), help: Settings.entityIDs.help)
    var entityIds: String?

    @Option(name: .customLong(Settings.orgIDs.key), help: Settings.orgIDs.help)
    var orgIds: String?

    @Option(name: .customLong(Settings.requestTimeout.key), help: Settings.requestTimeout.help)
    var requestTimeout: DurationArgument?

    @Flag(name: .customLong(Settings.allowInsecureHTTP.key), help: Settings.allowInsecureHTTP.help)
    var allowInsecureHttp = false

    @Option(name: .customLong(Settings.backoffBase.key), help: Settings.backoffBase.help)
    var backoffBase: DurationArgument?

    @Option(name: .customLong(Settings.backoffCap.key), help: Settings.backoffCap.help)
    var backoffCap: DurationArgument?
}

/// The request budgets every dispatcher of an outbox shares: `drain`,
/// `reconcile` and `config show`.
struct BudgetOptions: ParsableArguments {
    @Option(name: .customLong(Settings.maxRequestsPerMinute.key), help: Settings.maxRequestsPerMinute.help)
    var maxRequestsPerMinute: Int?

    @Option(name: .customLong(Settings.maxRequestsPerHour.key), help: Settings.maxRequestsPerHour.help)
    var maxRequestsPerHour: Int?

    @Option(name: .customLong(Settings.maxRequestsPerDay.key), help: Settings.maxRequestsPerDay.help)
    var maxRequestsPerDay: Int?

    @Option(name: .customLong(Settings.maxConcurrentRequests.key), help: Settings.maxConcurrentRequests.help)
    var maxConcurrentRequests: Int?
}

/// The drain's own options, shared by `drain` and `config show`.
struct DrainOptions: ParsableArguments {
    @Option(name: .customLong(Settings.batchSize.key), help: Settings.batchSize.help)
    var batchSize: Int?

    @Option(name: .customLong(Settings.maxBatchBytes.key), help: Settings.maxBatchBytes.help)
    var maxBatchBytes: Int?

    @Option(name: .customLong(Settings.concurrency.key), help: Settings.concurrency.help)
    var concurrency: Int?

    @Flag(inversion: .prefixedNo, help: Settings.gzip.help)
    var gzip: Bool?

    @Option(name: .customLong(Settings.idempotencyKeys.key), help: Settings.idempotencyKeys.help)
    var idempotencyKeys: OnOffArgument?

    @Option(name: .customLong(Settings.maxAttempts.key), help: Settings.maxAttempts.help)
    var maxAttempts: Int?

    @Option(name: .customLong(Settings.lease.key), help: Settings.lease.help)
    var lease: DurationArgument?

    @Option(name: .customLong(Settings.pollInterval.key), help: Settings.pollInterval.help)
    var pollInterval: DurationArgument?

    @Option(name: .customLong(Settings.metricsPort.key), help: Settings.metricsPort.help)
    var metricsPort: Int?

    @Option(name: .customLong(Settings.metricsAddress.key), help: Settings.metricsAddress.help)
    var metricsAddress: String?

    @Option(name: .customLong(Settings.purgeSentAfter.key), help: Settings.purgeSentAfter.help)
    var purgeSentAfter: DurationArgument?

    @Option(name: .customLong(Settings.reconcileEvery.key), help: Settings.reconcileEvery.help)
    var reconcileEvery: DurationArgument?

    @Option(name: .customLong(Settings.logSummaryEvery.key), help: Settings.logSummaryEvery.help)
    var logSummaryEvery: DurationArgument?
}

/// `--meter-id GLOBAL=ID`, for the commands that read audit trails.
struct MeterIDOptions: ParsableArguments {
    @Option(
        name: .customLong("meter-id"),
        help: ArgumentHelp(
            "Zuora's numeric meter id for a meter global id, GLOBAL=ID (repeatable; $\(Settings.meterIDsEnvironment)=\"g1=101,g2=102\"; the config file's \"meter-ids\").",
            valueName: "global=id"))
    var meterID: [String] = []

    @Option(
        name: .customLong("dedup-operator-id"),
        help: ArgumentHelp(
            "The operator id of a meter's Deduplicator, besides those whose type or name says \"dedup\": its audit entries are discarded copies, never rejections (repeatable; $OUTBOX_DEDUP_OPERATOR_IDS=\"id1,id2\").",
            valueName: "id"))
    var dedupOperatorID: [String] = []

    /// The Deduplicators' operator ids: the flags, else the environment's list.
    func deduplicatorOperatorIDs() throws -> Set<String> {
        let given = dedupOperatorID.isEmpty ? (Environment.string("OUTBOX_DEDUP_OPERATOR_IDS") ?? "").split(separator: ",").map(String.init) : dedupOperatorID
        let ids = given.map { $0.trimmingCharacters(in: .whitespaces) }
        if let bad = ids.first(where: { $0.isEmpty || $0.count > 200 || $0.contains(",") }) {
            throw CommandFailure(
                "\"\(bad)\" is not an operator id", hint: "give Zuora's operatorId of the Deduplicator, as its audit entries show it", exitCode: Exit.usage)
        }
        return Set(ids)
    }
}

extension ZuoraEnvironment: ExpressibleByArgument {}

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

/// The drain's own options, shared by `drain` and `config show`.
struct DrainOptions: ParsableArguments {
    @Option(name: .customLong(Settings.batchSize.key), help: Settings.batchSize.help)
    var batchSize: Int?

    @Option(name: .customLong(Settings.maxBatchBytes.key), help: Settings.maxBatchBytes.help)
    var maxBatchBytes: Int?

    @Option(name: .customLong(Settings.maxRequestsPerMinute.key), help: Settings.maxRequestsPerMinute.help)
    var maxRequestsPerMinute: Int?

    @Option(name: .customLong(Settings.concurrency.key), help: Settings.concurrency.help)
    var concurrency: Int?

    @Flag(inversion: .prefixedNo, help: Settings.gzip.help)
    var gzip: Bool?

    @Option(name: .customLong(Settings.maxAttempts.key), help: Settings.maxAttempts.help)
    var maxAttempts: Int?

    @Option(name: .customLong(Settings.lease.key), help: Settings.lease.help)
    var lease: DurationArgument?

    @Option(name: .customLong(Settings.pollInterval.key), help: Settings.pollInterval.help)
    var pollInterval: DurationArgument?

    @Option(name: .customLong(Settings.metricsPort.key), help: Settings.metricsPort.help)
    var metricsPort: Int?

    @Option(name: .customLong(Settings.purgeSentAfter.key), help: Settings.purgeSentAfter.help)
    var purgeSentAfter: DurationArgument?

    @Option(name: .customLong(Settings.reconcileEvery.key), help: Settings.reconcileEvery.help)
    var reconcileEvery: DurationArgument?
}

/// `--meter-id GLOBAL=ID`, for the commands that read audit trails.
struct MeterIDOptions: ParsableArguments {
    @Option(
        name: .customLong("meter-id"),
        help: ArgumentHelp(
            "Zuora's numeric meter id for a meter global id, GLOBAL=ID (repeatable; $\(Settings.meterIDsEnvironment)=\"g1=101,g2=102\"; the config file's \"meter-ids\").",
            valueName: "global=id"))
    var meterID: [String] = []
}

extension ZuoraEnvironment: ExpressibleByArgument {}

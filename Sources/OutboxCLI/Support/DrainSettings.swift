import Foundation
import Logging
import OutboxDispatcher

/// What it takes to talk to Zuora, each value with where it came from.
struct ZuoraSettings {
    let baseURL: Resolved<String?>
    /// The environment whose limits apply: given, or inferred from the host.
    let environment: Resolved<ZuoraEnvironment?>
    let entityIDs: Resolved<String?>
    let orgIDs: Resolved<String?>
    let requestTimeout: Resolved<Double>
    let allowInsecureHTTP: Resolved<Bool>
    let backoffBase: Resolved<Double>
    let backoffCap: Resolved<Double>

    init(_ options: ZuoraOptions, file: ConfigFile, record: SettingsRecord? = nil) throws {
        baseURL = try Settings.baseURL.resolveOptional(flag: options.baseURL, file: file, record: record)
        let given = try Settings.zuoraEnvironment.resolveOptional(flag: options.zuoraEnvironment, file: file)
        if given.value == nil, let host = baseURL.value.flatMap(ZuoraSettings.host(of:)), let inferred = ZuoraEnvironment.inferred(fromHost: host) {
            environment = Resolved(value: inferred, source: .inferred)
            record?.note(Settings.zuoraEnvironment.key, "\(inferred.rawValue) (from the base URL's host \(host))", .inferred)
        } else {
            environment = given
            record?.note(Settings.zuoraEnvironment.key, given.value?.rawValue ?? "(none: not a known Zuora host; Zuora's widest limits apply)", given.source)
        }
        entityIDs = try Settings.entityIDs.resolveOptional(flag: options.entityIds, file: file, record: record)
        orgIDs = try Settings.orgIDs.resolveOptional(flag: options.orgIds, file: file, record: record)
        requestTimeout = try Settings.requestTimeout.resolve(flag: options.requestTimeout?.seconds, file: file, record: record)
        allowInsecureHTTP = try Settings.allowInsecureHTTP.resolve(flag: options.allowInsecureHttp ? true : nil, file: file, record: record)
        backoffBase = try Settings.backoffBase.resolve(flag: options.backoffBase?.seconds, file: file, record: record)
        backoffCap = try Settings.backoffCap.resolve(flag: options.backoffCap?.seconds, file: file, record: record)
    }

    /// A comma-separated list as given, every item kept (an empty one is
    /// refused by the dispatcher's checks).
    static func ids(_ list: String) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }

    static func host(of url: String) -> String? {
        URLComponents(string: url)?.host
    }

    /// A dispatcher configuration with these settings: credentials from the
    /// environment only; a missing base URL or credentials is a usage error
    /// that names what is missing.
    func dispatcherConfiguration(logger: Logger) throws -> DispatcherConfiguration {
        guard let base = baseURL.value else {
            throw CommandFailure(
                "ZUORA_BASE_URL is not set (nor --base-url, nor \"base-url\" in the config file)",
                hint: "export ZUORA_BASE_URL=https://rest.zuora.com (or your tenant's URL); `outbox mock-zuora` serves a local one",
                exitCode: Exit.usage)
        }
        guard let credentials = try ZuoraSettings.credentials() else {
            throw CommandFailure(
                "no Zuora credentials: set ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET (OAuth), or ZUORA_BEARER_TOKEN",
                hint: "credentials are read from the environment only (or *_FILE variables naming a file), never from arguments",
                exitCode: Exit.usage)
        }
        var settings = DispatcherConfiguration(baseURL: base, credentials: credentials, logger: logger)
        settings.environment = environment.value
        // The flags take the header's own form: ids separated by commas.
        settings.entityIDs = entityIDs.value.map(ZuoraSettings.ids) ?? []
        settings.orgIDs = orgIDs.value.map(ZuoraSettings.ids) ?? []
        settings.requestTimeout = .seconds(requestTimeout.value)
        settings.allowInsecureHTTP = allowInsecureHTTP.value
        settings.backoff = BackoffPolicy(base: .seconds(backoffBase.value), cap: .seconds(backoffCap.value))
        return settings
    }

    static func credentials() throws -> ZuoraCredentials? {
        ProcessHardening.protectSecrets()
        do {
            return try ZuoraCredentials.fromEnvironment(Environment.values) { path in
                do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw CommandFailure(
                        "cannot read the secret file \(path)", hint: "check the *_FILE variable and the file's permissions", exitCode: Exit.usage)
                }
            }
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error)
        }
    }
}

/// The drain's effective settings, each with where it came from.
struct DrainSettings {
    let zuora: ZuoraSettings
    let batchSize: Resolved<Int>
    let maxBatchBytes: Resolved<Int>
    let budget: BudgetSettings
    let concurrency: Resolved<Int>
    let gzip: Resolved<Bool>
    let idempotencyKeys: Resolved<Bool>
    let maxAttempts: Resolved<Int>
    let lease: Resolved<Double>
    let pollInterval: Resolved<Double>
    let metricsPort: Resolved<Int?>
    let metricsAddress: Resolved<String>
    let purgeSentAfter: Resolved<Double?>
    let reconcileEvery: Resolved<Double?>
    let logSummaryEvery: Resolved<Double>

    init(_ options: DrainOptions, budget: BudgetOptions, zuora: ZuoraOptions, file: ConfigFile, record: SettingsRecord? = nil) throws {
        self.zuora = try ZuoraSettings(zuora, file: file, record: record)
        batchSize = try Settings.batchSize.resolve(flag: options.batchSize, file: file, record: record)
        maxBatchBytes = try Settings.maxBatchBytes.resolve(flag: options.maxBatchBytes, file: file, record: record)
        self.budget = try BudgetSettings(budget, environment: self.zuora.environment.value, file: file, record: record)
        concurrency = try Settings.concurrency.resolve(flag: options.concurrency, file: file, record: record)
        gzip = try Settings.gzip.resolve(flag: options.gzip, file: file, record: record)
        idempotencyKeys = try Settings.idempotencyKeys.resolve(flag: options.idempotencyKeys?.value, file: file, record: record)
        maxAttempts = try Settings.maxAttempts.resolve(flag: options.maxAttempts, file: file, record: record)
        lease = try Settings.lease.resolve(flag: options.lease?.seconds, file: file, record: record)
        pollInterval = try Settings.pollInterval.resolve(flag: options.pollInterval?.seconds, file: file, record: record)
        metricsPort = try Settings.metricsPort.resolveOptional(flag: options.metricsPort, file: file, record: record)
        metricsAddress = try Settings.metricsAddress.resolve(flag: options.metricsAddress, file: file, record: record)
        purgeSentAfter = try Settings.purgeSentAfter.resolveOptional(flag: options.purgeSentAfter?.seconds, file: file, record: record)
        reconcileEvery = try Settings.reconcileEvery.resolveOptional(flag: options.reconcileEvery?.seconds, file: file, record: record)
        logSummaryEvery = try Settings.logSummaryEvery.resolve(flag: options.logSummaryEvery?.seconds, file: file, record: record)
        if logSummaryEvery.value > 0 && logSummaryEvery.value < 1 {
            throw CommandFailure(
                "--log-summary-every must be 0s (no summary) or at least 1s, got \(DurationArgument.format(logSummaryEvery.value))",
                hint: "a summary every minute (60s, the default) suits most logs", exitCode: Exit.usage)
        }
    }

    /// `--reconcile-every` reads audit trails by numeric meter id: without
    /// any, it is a usage error (`drain` and `check` alike).
    func requireMeterIDsForReconcile(_ ids: [String: Int64]) throws {
        guard reconcileEvery.value != nil && ids.isEmpty else { return }
        throw CommandFailure(
            "--reconcile-every needs meter ids: no meter has a numeric meter id to read its audit trail by",
            hint: "map them with --meter-id GLOBAL=ID, OUTBOX_METER_IDS or the config file's \"meter-ids\"", exitCode: Exit.usage)
    }

    /// The dispatcher's configuration, checked: a value out of range (or
    /// past the environment's limits) is a usage error naming its flag.
    func dispatcherConfiguration(logger: Logger) throws -> DispatcherConfiguration {
        var settings = try zuora.dispatcherConfiguration(logger: logger)
        settings.batchSize = batchSize.value
        settings.maxBatchBytes = maxBatchBytes.value
        budget.apply(to: &settings)
        settings.concurrency = concurrency.value
        settings.gzip = gzip.value
        settings.idempotencyKeys = idempotencyKeys.value
        // The flag's 0 (the default) means no limit.
        guard maxAttempts.value >= 0 else {
            throw CommandFailure(
                DispatcherConfigurationError(.maxAttempts, "the attempt limit must be 0 (retry forever) or more, got \(maxAttempts.value)"))
        }
        settings.maxAttempts = maxAttempts.value == 0 ? nil : maxAttempts.value
        settings.lease = .seconds(lease.value)
        settings.pollInterval = .seconds(pollInterval.value)
        do {
            try settings.validate()
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error)
        }
        return settings
    }
}

import Foundation
import Logging
import OutboxDispatcher

/// The drain's effective settings, each with where it came from: flag,
/// environment, config file or default.
struct DrainSettings {
    let baseURL: Resolved<String?>
    let batchSize: Resolved<Int>
    let maxBatchBytes: Resolved<Int>
    let concurrency: Resolved<Int>
    let gzip: Resolved<Bool>
    let entityIDs: Resolved<String?>
    let orgIDs: Resolved<String?>
    let maxAttempts: Resolved<Int>
    let lease: Resolved<Double>
    let requestTimeout: Resolved<Double>
    let backoffBase: Resolved<Double>
    let backoffCap: Resolved<Double>
    let pollInterval: Resolved<Double>
    let allowInsecureHTTP: Resolved<Bool>
    /// -1 when metrics are off.
    let metricsPort: Resolved<Int>
    /// Purge sent events older than this while draining; nil for never.
    let purgeSentAfter: Resolved<Double?>

    init(_ options: DrainOptions, file: ConfigFile) throws {
        let defaults = DispatcherConfiguration(baseURL: "", credentials: .bearer(Secret("")))
        baseURL = try Resolved.resolveOptional(flag: options.baseURL, environment: Environment.string("ZUORA_BASE_URL"), file: file.string("base-url"))
        batchSize = try Resolved.resolve(flag: options.batchSize, environment: Environment.int("OUTBOX_BATCH_SIZE"), file: file.int("batch-size"), default: defaults.batchSize)
        maxBatchBytes = try Resolved.resolve(flag: options.maxBatchBytes, environment: Environment.int("OUTBOX_MAX_BATCH_BYTES"), file: file.int("max-batch-bytes"), default: defaults.maxBatchBytes)
        concurrency = try Resolved.resolve(flag: options.concurrency, environment: Environment.int("OUTBOX_CONCURRENCY"), file: file.int("concurrency"), default: defaults.concurrency)
        gzip = try Resolved.resolve(flag: options.gzip, environment: Environment.bool("OUTBOX_GZIP"), file: file.bool("gzip"), default: defaults.gzip)
        entityIDs = try Resolved.resolveOptional(flag: options.entityIds, environment: Environment.string("ZUORA_ENTITY_IDS"), file: file.string("entity-ids"))
        orgIDs = try Resolved.resolveOptional(flag: options.orgIds, environment: Environment.string("ZUORA_ORG_IDS"), file: file.string("org-ids"))
        maxAttempts = try Resolved.resolve(flag: options.maxAttempts, environment: Environment.int("OUTBOX_MAX_ATTEMPTS"), file: file.int("max-attempts"), default: defaults.maxAttempts)
        lease = try Resolved.resolve(flag: options.lease?.seconds, environment: Environment.duration("OUTBOX_LEASE"), file: file.duration("lease"), default: defaults.leaseSeconds)
        requestTimeout = try Resolved.resolve(flag: options.requestTimeout?.seconds, environment: Environment.duration("OUTBOX_REQUEST_TIMEOUT"), file: file.duration("request-timeout"), default: defaults.requestTimeoutSeconds)
        backoffBase = try Resolved.resolve(flag: options.backoffBase?.seconds, environment: Environment.duration("OUTBOX_BACKOFF_BASE"), file: file.duration("backoff-base"), default: defaults.backoff.baseSeconds)
        backoffCap = try Resolved.resolve(flag: options.backoffCap?.seconds, environment: Environment.duration("OUTBOX_BACKOFF_CAP"), file: file.duration("backoff-cap"), default: defaults.backoff.capSeconds)
        pollInterval = try Resolved.resolve(flag: options.pollInterval?.seconds, environment: Environment.duration("OUTBOX_POLL_INTERVAL"), file: file.duration("poll-interval"), default: defaults.pollIntervalSeconds)
        allowInsecureHTTP = try Resolved.resolve(flag: options.allowInsecureHttp ? true : nil, environment: Environment.bool("OUTBOX_ALLOW_INSECURE_HTTP"), file: file.bool("allow-insecure-http"), default: false)
        metricsPort = try Resolved.resolve(flag: options.metricsPort, environment: Environment.int("OUTBOX_METRICS_PORT"), file: file.int("metrics-port"), default: -1)
        purgeSentAfter = try Resolved.resolveOptional(flag: options.purgeSentAfter?.seconds, environment: Environment.duration("OUTBOX_PURGE_SENT_AFTER"), file: file.duration("purge-sent-after"))
    }

    /// Credentials from the environment only; a missing base URL or
    /// credentials is a usage error that names what is missing.
    func dispatcherConfiguration(logger: Logger) throws -> DispatcherConfiguration {
        guard let base = baseURL.value else {
            throw CommandFailure("ZUORA_BASE_URL is not set (nor --base-url, nor \"base-url\" in the config file)",
                                 hint: "export ZUORA_BASE_URL=https://rest.zuora.com (or your tenant's URL); `outbox mock-zuora` serves a local one",
                                 exitCode: Exit.usage)
        }
        guard let credentials = try DrainSettings.credentials() else {
            throw CommandFailure("no Zuora credentials: set ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET (OAuth), or ZUORA_BEARER_TOKEN",
                                 hint: "credentials are read from the environment only (or *_FILE variables naming a file), never from arguments",
                                 exitCode: Exit.usage)
        }
        var settings = DispatcherConfiguration(baseURL: base, credentials: credentials, logger: logger)
        settings.batchSize = batchSize.value
        settings.maxBatchBytes = maxBatchBytes.value
        settings.concurrency = concurrency.value
        settings.gzip = gzip.value
        settings.entityIDs = entityIDs.value
        settings.orgIDs = orgIDs.value
        settings.maxAttempts = maxAttempts.value
        settings.leaseSeconds = lease.value
        settings.requestTimeoutSeconds = requestTimeout.value
        settings.backoff = BackoffPolicy(baseSeconds: backoffBase.value, capSeconds: backoffCap.value)
        settings.pollIntervalSeconds = pollInterval.value
        settings.allowInsecureHTTP = allowInsecureHTTP.value
        do {
            try settings.validate()
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error)
        }
        return settings
    }

    static func credentials() throws -> ZuoraCredentials? {
        do {
            return try ZuoraCredentials.fromEnvironment(Environment.values) { path in
                do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                    throw CommandFailure("cannot read the secret file \(path)", hint: "check the *_FILE variable and the file's permissions", exitCode: Exit.usage)
                }
            }
        } catch let error as DispatcherConfigurationError {
            throw CommandFailure(error)
        }
    }
}

import ArgumentParser
import Foundation
import OutboxDispatcher
import UsageOutbox

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the configuration in effect.",
        subcommands: [Show.self],
        defaultSubcommand: Show.self
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration and where each value comes from (flag, environment, file, default), secrets masked.",
            discussion: "Precedence: flags, then environment variables, then the config file (--config or $OUTBOX_CONFIG), then defaults."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var drain: DrainOptions
        @OptionGroup var logging: LoggingOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingFailures {
                let db = try await database.resolve()
                let settings = try DrainSettings(drain, file: db.file)
                let (level, format) = try logging.resolve(file: db.file)
                var entries: [(String, String, SettingSource)] = [
                    ("config-file", db.file.path ?? "(none)", db.file.path == nil ? .default : (database.config == nil ? .environment : .flag)),
                    ("db", db.path.value, db.path.source),
                    ("busy-timeout", "\(db.busyTimeout.value) ms", db.busyTimeout.source),
                    ("durability", db.durability.value.rawValue, db.durability.source),
                    ("event-id-field", db.eventIdField.value.isEmpty ? "(none)" : db.eventIdField.value, db.eventIdField.source),
                    ("log-level", "\(level.value)", level.source),
                    ("log-format", format.value.rawValue, format.source),
                    ("base-url", settings.baseURL.value ?? "(not set: drain will refuse to start)", settings.baseURL.source),
                    ("batch-size", "\(settings.batchSize.value)", settings.batchSize.source),
                    ("max-batch-bytes", "\(settings.maxBatchBytes.value)", settings.maxBatchBytes.source),
                    ("concurrency", "\(settings.concurrency.value)", settings.concurrency.source),
                    ("gzip", "\(settings.gzip.value)", settings.gzip.source),
                    ("entity-ids", settings.entityIDs.value ?? "(none)", settings.entityIDs.source),
                    ("org-ids", settings.orgIDs.value ?? "(none)", settings.orgIDs.source),
                    ("max-attempts", settings.maxAttempts.value == 0 ? "0 (retry forever)" : "\(settings.maxAttempts.value)", settings.maxAttempts.source),
                    ("lease", "\(settings.lease.value)s", settings.lease.source),
                    ("request-timeout", "\(settings.requestTimeout.value)s", settings.requestTimeout.source),
                    ("backoff-base", "\(settings.backoffBase.value)s", settings.backoffBase.source),
                    ("backoff-cap", "\(settings.backoffCap.value)s", settings.backoffCap.source),
                    ("poll-interval", "\(settings.pollInterval.value)s", settings.pollInterval.source),
                    ("allow-insecure-http", "\(settings.allowInsecureHTTP.value)", settings.allowInsecureHTTP.source),
                    ("metrics-port", settings.metricsPort.value < 0 ? "(off)" : "\(settings.metricsPort.value)", settings.metricsPort.source),
                    ("purge-sent-after", settings.purgeSentAfter.value.map { "\($0)s" } ?? "(off)", settings.purgeSentAfter.source),
                ]
                entries.append(contentsOf: Show.credentialEntries())
                if output.json {
                    Stdout.print(JSONValue.object(Dictionary(uniqueKeysWithValues: entries.map { key, value, source in
                        (key, JSONValue.object(["value": .string(value), "source": .string(source.rawValue)]))
                    })).jsonText)
                } else {
                    Stdout.print(Table.render(header: ["SETTING", "VALUE", "FROM"], rows: entries.map { [$0.0, $0.1, $0.2.rawValue] }).joined(separator: "\n"))
                }
            }
        }

        /// Which credentials are set, never their values.
        static func credentialEntries() -> [(String, String, SettingSource)] {
            func state(_ name: String) -> (String, SettingSource) {
                if Environment.string(name) != nil { return ("set (****)", .environment) }
                if let path = Environment.string(name + "_FILE") { return ("from file \(path) (****)", .environment) }
                return ("(not set)", .default)
            }
            let secret = state("ZUORA_CLIENT_SECRET")
            let token = state("ZUORA_BEARER_TOKEN")
            return [
                ("client-id", Environment.string("ZUORA_CLIENT_ID") ?? "(not set)", Environment.string("ZUORA_CLIENT_ID") == nil ? .default : .environment),
                ("client-secret", secret.0, secret.1),
                ("bearer-token", token.0, token.1),
            ]
        }
    }
}

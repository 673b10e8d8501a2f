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
            discussion: """
                Precedence: flags, then environment variables, then the config file (--config or $OUTBOX_CONFIG), then defaults.

                The config file is one JSON object whose keys are the long flags' names, e.g.
                  {"db": "/var/lib/myapp/outbox.sqlite", "lease": "90s", "concurrency": 8, "meter-ids": {"api-calls": 101}}
                Durations are strings with a unit. Credentials are never read from it: they come
                from the environment only. `outbox config show --keys` lists every key.
                """
        )

        @Flag(name: .long, help: "List every config file key: its type, default, environment variable and meaning; reads no database.")
        var keys = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var zuora: ZuoraOptions
        @OptionGroup var drain: DrainOptions
        @OptionGroup var budget: BudgetOptions
        @OptionGroup var meterIDs: MeterIDOptions
        @OptionGroup var logging: LoggingOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            if keys {
                printKeys()
                return
            }
            try await reportingFailures {
                // Every setting resolved as the commands resolve it, each
                // noting its value and source in the record.
                let record = SettingsRecord()
                let db = try await database.resolve(record: record)
                _ = try logging.resolve(file: db.file, record: record)
                _ = try DrainSettings(drain, budget: budget, zuora: zuora, file: db.file, record: record)
                _ = try MeterIDs.resolve(flags: meterIDs.meterID, file: db.file, record: record)
                var entries = record.rows.map { ($0.key, $0.value, $0.source) }
                entries.append(contentsOf: Show.credentialEntries())
                if output.json {
                    Stdout.print(
                        JSONValue.object(
                            Dictionary(
                                uniqueKeysWithValues: entries.map { key, value, source in
                                    (key, JSONValue.object(["value": .string(value), "source": .string(source.rawValue)]))
                                })
                        ).jsonText)
                } else {
                    Stdout.print(
                        Table.render(header: ["SETTING", "VALUE", "FROM"], rows: entries.map { [$0.0, $0.1, $0.2.rawValue] }).joined(separator: "\n"))
                }
            }
        }

        private func printKeys() {
            let documents = Settings.keyDocuments
            if output.json {
                Stdout.print(
                    JSONValue.array(
                        documents.map { document in
                            JSONValue.object([
                                "key": .string(document.key), "type": .string(document.expected), "default": .string(document.defaultText),
                                "environment": document.environment.map(JSONValue.string) ?? .null, "meaning": .string(document.summary),
                            ])
                        }
                    ).jsonText)
            } else {
                // A block per key: the defaults and meanings are sentences,
                // too wide for table columns.
                Stdout.print(
                    documents.map { document in
                        let environment = document.environment.map { " ($\($0))" } ?? ""
                        let fallback = document.defaultText.isEmpty ? "none" : document.defaultText
                        return "\(document.key)\(environment): \(document.expected); default \(fallback)\n    \(document.summary)"
                    }.joined(separator: "\n"))
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

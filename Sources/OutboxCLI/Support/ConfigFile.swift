import Configuration
import Foundation
import SystemPackage

/// The optional configuration file (`--config PATH` or `$OUTBOX_CONFIG`), a
/// flat JSON object whose keys are the long option names:
///
/// ```json
/// {"db": "/var/lib/outbox/outbox.sqlite", "base-url": "https://rest.zuora.com",
///  "batch-size": 1000, "concurrency": 4, "lease": "60s", "metrics-port": 9464}
/// ```
///
/// Precedence is flags, then environment, then this file, then defaults.
/// Secrets are refused here: they belong in the environment (or a *_FILE).
struct ConfigFile: Sendable {
    let path: String?
    private let reader: ConfigReader?

    static let knownKeys: Set<String> = [
        "db", "busy-timeout", "durability", "event-id-field", "log-level", "log-format",
        "base-url", "batch-size", "max-batch-bytes", "concurrency", "gzip", "entity-ids", "org-ids",
        "max-attempts", "lease", "request-timeout", "backoff-base", "backoff-cap", "poll-interval",
        "allow-insecure-http", "metrics-port", "metrics-host", "purge-sent-after", "client-id",
    ]
    static let secretKeys: Set<String> = ["client-secret", "bearer-token", "token", "password", "secret"]

    static let none = ConfigFile(path: nil, reader: nil)

    static func load(path explicit: String?) async throws -> ConfigFile {
        guard let path = explicit ?? Environment.string("OUTBOX_CONFIG") else { return .none }
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("the config file \(path) does not exist", hint: "fix --config / OUTBOX_CONFIG, or remove it", exitCode: Exit.usage)
        }
        let provider: FileProvider<JSONSnapshot>
        do {
            provider = try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
        } catch {
            throw CommandFailure("the config file \(path) is not a valid JSON object: \(error)", hint: "write it as {\"option-name\": value, ...}", exitCode: Exit.usage)
        }
        // The library reads typed values; spotting typos and secrets needs the key list.
        if let data = FileManager.default.contents(atPath: path),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            if let secret = object.keys.first(where: { ConfigFile.secretKeys.contains($0) }) {
                throw CommandFailure("the config file \(path) holds \"\(secret)\"; secrets are read from the environment only",
                                     hint: "set ZUORA_CLIENT_SECRET or ZUORA_CLIENT_SECRET_FILE (or ZUORA_BEARER_TOKEN[_FILE]) instead", exitCode: Exit.usage)
            }
            let unknown = object.keys.filter { !ConfigFile.knownKeys.contains($0) }.sorted()
            if !unknown.isEmpty {
                throw CommandFailure("the config file \(path) has unknown keys: \(unknown.joined(separator: ", "))",
                                     hint: "keys are long option names such as \"batch-size\"; see `outbox config show`", exitCode: Exit.usage)
            }
        }
        let file = ConfigFile(path: path, reader: ConfigReader(provider: provider))
        try file.checkTypes()
        return file
    }

    static let intKeys: Set<String> = ["busy-timeout", "batch-size", "max-batch-bytes", "concurrency", "max-attempts", "metrics-port"]
    static let boolKeys: Set<String> = ["gzip", "allow-insecure-http"]
    static let durationKeys: Set<String> = ["lease", "request-timeout", "backoff-base", "backoff-cap", "poll-interval", "purge-sent-after"]

    /// Every value must have its key's type, whichever command reads it.
    private func checkTypes() throws {
        for key in ConfigFile.knownKeys {
            if ConfigFile.intKeys.contains(key) { _ = try int(key) }
            else if ConfigFile.boolKeys.contains(key) { _ = try bool(key) }
            else if ConfigFile.durationKeys.contains(key) { _ = try duration(key) }
            else { _ = try string(key) }
        }
    }

    func string(_ key: String) throws -> String? {
        guard let reader, isPresent(key) else { return nil }
        do { return try reader.requiredString(forKey: ConfigKey(key)) } catch { throw typeError(key, "a string") }
    }

    func int(_ key: String) throws -> Int? {
        guard let reader, isPresent(key) else { return nil }
        do { return try reader.requiredInt(forKey: ConfigKey(key)) } catch { throw typeError(key, "a whole number") }
    }

    func bool(_ key: String) throws -> Bool? {
        guard let reader, isPresent(key) else { return nil }
        do { return try reader.requiredBool(forKey: ConfigKey(key)) } catch { throw typeError(key, "true or false") }
    }

    /// A duration: a string like "90s" or a number of seconds.
    func duration(_ key: String) throws -> Double? {
        guard let reader, isPresent(key) else { return nil }
        if let seconds = reader.double(forKey: ConfigKey(key)) { return seconds }
        guard let text = reader.string(forKey: ConfigKey(key)), let seconds = DurationArgument.parse(text) else {
            throw typeError(key, "a duration like \"90s\", \"15m\", \"12h\" or \"7d\"")
        }
        return seconds
    }

    private func isPresent(_ key: String) -> Bool {
        guard let reader else { return false }
        let configKey = ConfigKey(key)
        return reader.string(forKey: configKey) != nil || reader.int(forKey: configKey) != nil
            || reader.double(forKey: configKey) != nil || reader.bool(forKey: configKey) != nil
    }

    private func typeError(_ key: String, _ expected: String) -> CommandFailure {
        CommandFailure("\"\(key)\" in the config file \(path ?? "") must be \(expected)", exitCode: Exit.usage)
    }
}

/// Where an effective setting came from, for `outbox config show`.
enum SettingSource: String {
    case flag, environment, file, `default`
}

/// Resolves one setting: flag, then environment, then file, then default.
struct Resolved<Value> {
    let value: Value
    let source: SettingSource

    static func resolve(flag: Value?, environment: @autoclosure () throws -> Value?, file: @autoclosure () throws -> Value?, default fallback: Value) rethrows -> Resolved {
        if let flag { return Resolved(value: flag, source: .flag) }
        if let value = try environment() { return Resolved(value: value, source: .environment) }
        if let value = try file() { return Resolved(value: value, source: .file) }
        return Resolved(value: fallback, source: .default)
    }

    /// The same for settings without a default (the value stays nil).
    static func resolveOptional<Wrapped>(flag: Wrapped?, environment: @autoclosure () throws -> Wrapped?, file: @autoclosure () throws -> Wrapped?) rethrows -> Resolved<Wrapped?> where Value == Wrapped? {
        if let flag { return Resolved(value: flag, source: .flag) }
        if let value = try environment() { return Resolved(value: value, source: .environment) }
        if let value = try file() { return Resolved(value: value, source: .file) }
        return Resolved(value: nil, source: .default)
    }
}

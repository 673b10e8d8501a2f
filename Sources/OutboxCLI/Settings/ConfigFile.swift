import Foundation
import OutboxCore
import OutboxPostgres

/// A JSON value from the config file.
typealias ConfigValue = JSONTree

/// The optional configuration file (`--config PATH` or `$OUTBOX_CONFIG`), a
/// JSON object whose keys are the settings' keys (the long option names):
///
/// ```json
/// {"db": "/var/lib/outbox/outbox.sqlite", "base-url": "https://rest.zuora.com",
///  "batch-size": 1000, "lease": "60s", "metrics-port": 9464, "meter-ids": {"api-calls": 101}}
/// ```
///
/// Read once, when a command starts. Every key must be a setting's (see
/// `Settings.all`), and every value must have its setting's type, whichever
/// command reads it. Secrets are refused: they belong in the environment
/// (or a *_FILE).
struct ConfigFile: Sendable {
    let path: String?
    private let values: [String: ConfigValue]

    static let secretKeys: Set<String> = ["client-secret", "bearer-token", "token", "password", "secret"]

    static let none = ConfigFile(path: nil, values: [:])

    static func load(path explicit: String?) async throws -> ConfigFile {
        guard let path = explicit ?? Environment.string("OUTBOX_CONFIG") else { return .none }
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw CommandFailure(
                exists ? "cannot read the config file \(path)" : "the config file \(path) does not exist",
                hint: "fix --config / OUTBOX_CONFIG, or remove it", exitCode: Exit.usage)
        }
        let values: [String: ConfigValue]
        do {
            values = try JSONDecoder().decode([String: ConfigValue].self, from: data)
        } catch {
            throw CommandFailure("the config file \(path) is not a valid JSON object", hint: "write it as {\"option-name\": value, ...}", exitCode: Exit.usage)
        }
        if let secret = values.keys.sorted().first(where: { ConfigFile.secretKeys.contains($0) }) {
            throw CommandFailure(
                "the config file \(path) holds \"\(secret)\"; secrets are read from the environment only",
                hint: "set ZUORA_CLIENT_SECRET or ZUORA_CLIENT_SECRET_FILE (or ZUORA_BEARER_TOKEN[_FILE]) instead", exitCode: Exit.usage)
        }
        let known = Settings.fileKeys
        let unknown = values.keys.filter { known[$0] == nil }.sorted()
        if !unknown.isEmpty {
            throw CommandFailure(
                "the config file \(path) has unknown keys: \(unknown.joined(separator: ", "))",
                hint: "keys are long option names such as \"batch-size\"; see `outbox config show`", exitCode: Exit.usage)
        }
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where value != .null {
            if let expected = known[key]?(value) {
                throw CommandFailure("\"\(key)\" in the config file \(path) must be \(expected)", exitCode: Exit.usage)
            }
        }
        warnIfSharedWithSecret(path: path, values: values)
        return ConfigFile(path: path, values: values)
    }

    /// A database URL with a password is a secret: the file holding it must
    /// be readable by its owner only. Warns (on stderr) when it is not.
    static func warnIfSharedWithSecret(path: String, values: [String: ConfigValue]) {
        guard let db = values[Settings.db.key]?.string, PostgresLocation.isPostgresURL(db), PostgresLocation.holdsPassword(db) else { return }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & 0o077 != 0 else { return }
        let mode = String(info.st_mode & 0o777, radix: 8)
        FileHandle.standardError.write(
            Data("warning: the config file \(path) holds a database password and other users can read it (mode \(mode)); run: chmod 600 \(path)\n".utf8))
    }

    /// The file's value for `setting`, nil when the file does not set it.
    func value<Value>(of setting: Setting<Value>) throws -> Value? {
        guard let raw = values[setting.key], raw != .null else { return nil }
        guard let value = setting.fromJSON(raw) else {
            throw CommandFailure("\"\(setting.key)\" in the config file \(path ?? "") must be \(setting.expected)", exitCode: Exit.usage)
        }
        return value
    }

    /// The raw value of a key that is not a plain setting (`meter-ids`).
    func raw(_ key: String) -> ConfigValue? {
        values[key].flatMap { $0 == .null ? nil : $0 }
    }
}

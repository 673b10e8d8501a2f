import ArgumentParser
import Foundation

/// Where an effective setting came from, for `outbox config show`.
enum SettingSource: String, Sendable {
    case flag, environment, file, `default`
    /// Not given anywhere, and worked out from another setting (the Zuora
    /// environment from the base URL's host).
    case inferred
}

/// A setting's value and where it came from.
struct Resolved<Value> {
    let value: Value
    let source: SettingSource
}

/// One setting of the command, declared once: its key (the long flag
/// `--key`, and the config file's key), its environment variable, its
/// default, how a value is read from text (the environment) and from JSON
/// (the config file) and checked, and how `config show` prints it. Option
/// groups declare the flag from it (`name: .customLong(spec.key), help:
/// spec.help`); everything else reads the spec.
///
/// Precedence: the flag, then the environment variable, then the config
/// file, then the default.
struct Setting<Value: Sendable>: Sendable {
    let key: String
    let environment: String?
    let fallback: Value?
    let summary: String
    let valueName: String
    /// What a valid value looks like, for error messages ("a whole number").
    let expected: String
    let parse: @Sendable (String) -> Value?
    let fromJSON: @Sendable (ConfigValue) -> Value?
    /// Why a value is out of range, or nil when it is fine.
    let check: @Sendable (Value) -> String?
    let show: @Sendable (Value) -> String
    /// How the default reads in help and `config show` when unset.
    let defaultText: String

    var flag: String { "--" + key }

    var help: ArgumentHelp {
        var text = summary
        var notes: [String] = []
        if !defaultText.isEmpty { notes.append("default \(defaultText)") }
        if let environment { notes.append("$" + environment) }
        if !notes.isEmpty { text += " (" + notes.joined(separator: ", ") + ")" }
        return ArgumentHelp(text + ".", valueName: valueName)
    }

    /// The value in effect, or nil when it is set nowhere and has no default.
    func resolveOptional(flag value: Value?, file: ConfigFile, record: SettingsRecord? = nil) throws -> Resolved<Value?> {
        let resolved: Resolved<Value?>
        if let value {
            resolved = Resolved(value: value, source: .flag)
        } else if let environment, let text = Environment.string(environment) {
            guard let parsed = parse(text) else {
                throw CommandFailure(
                    "\(environment)=\(text) is not \(expected)", hint: "fix the variable, or unset it (\(flag) overrides it)", exitCode: Exit.usage)
            }
            resolved = Resolved(value: parsed, source: .environment)
        } else if let parsed = try file.value(of: self) {
            resolved = Resolved(value: parsed, source: .file)
        } else {
            resolved = Resolved(value: fallback, source: .default)
        }
        if let value = resolved.value, let problem = check(value) {
            throw CommandFailure(
                "\(flag) \(problem) (from the \(resolved.source.rawValue == "default" ? "default" : resolved.source.rawValue))",
                exitCode: Exit.usage)
        }
        record?.note(key, resolved.value.map(show) ?? (defaultText.isEmpty ? "(not set)" : defaultText), resolved.source)
        return resolved
    }

    /// The value in effect, for a setting with a default.
    func resolve(flag value: Value?, file: ConfigFile, record: SettingsRecord? = nil) throws -> Resolved<Value> {
        let resolved = try resolveOptional(flag: value, file: file, record: record)
        guard let value = resolved.value else { preconditionFailure("setting \(key) has no default") }
        return Resolved(value: value, source: resolved.source)
    }
}

extension Setting where Value == Int {
    static func integer(
        _ key: String, environment: String?, default fallback: Int?, in range: ClosedRange<Int>? = nil,
        summary: String, valueName: String = "n", defaultText: String? = nil
    ) -> Setting {
        Setting(
            key: key, environment: environment, fallback: fallback, summary: summary, valueName: valueName, expected: "a whole number",
            parse: { Int($0.trimmingCharacters(in: .whitespaces)) },
            fromJSON: { value in
                guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e15 else { return nil }
                return Int(number)
            },
            check: { value in range.flatMap { $0.contains(value) ? nil : "must be between \($0.lowerBound) and \($0.upperBound), got \(value)" } },
            show: { "\($0)" }, defaultText: defaultText ?? fallback.map { "\($0)" } ?? "")
    }
}

extension Setting where Value == Double {
    /// A duration in seconds, written like `90s`, `15m`, `12h` or `7d`.
    static func duration(
        _ key: String, environment: String?, default fallback: Double?, positive: Bool = true, atMost longest: Double = DurationArgument.longestSeconds,
        summary: String, defaultText: String? = nil
    ) -> Setting {
        Setting(
            key: key, environment: environment, fallback: fallback, summary: summary, valueName: "duration",
            expected: "a duration like 90s, 15m, 12h or 7d",
            parse: { DurationArgument.parse($0) },
            fromJSON: { value in
                switch value {
                case .string(let text): DurationArgument.parse(text)
                // A bare number is refused here too: it says no unit.
                default: nil
                }
            },
            check: { seconds in
                if positive && seconds <= 0 { return "must be longer than zero" }
                if seconds > longest { return "must be at most \(DurationArgument.format(longest)), got \(DurationArgument.format(seconds))" }
                return nil
            },
            show: { DurationArgument.format($0) }, defaultText: defaultText ?? fallback.map { DurationArgument.format($0) } ?? "")
    }
}

extension Setting where Value == Bool {
    static func boolean(_ key: String, environment: String?, default fallback: Bool, summary: String) -> Setting {
        Setting(
            key: key, environment: environment, fallback: fallback, summary: summary, valueName: "bool", expected: "true or false",
            parse: { text in
                switch text.lowercased() {
                case "1", "true", "yes", "on": true
                case "0", "false", "no", "off": false
                default: nil
                }
            },
            fromJSON: { value in
                if case .bool(let flag) = value { return flag }
                return nil
            },
            check: { _ in nil }, show: { $0 ? "on" : "off" }, defaultText: fallback ? "on" : "off")
    }
}

extension Setting where Value == String {
    static func text(
        _ key: String, environment: String?, default fallback: String?, summary: String, valueName: String,
        defaultText: String? = nil, check: @escaping @Sendable (String) -> String? = { _ in nil },
        show: @escaping @Sendable (String) -> String = { $0 }
    ) -> Setting {
        Setting(
            key: key, environment: environment, fallback: fallback, summary: summary, valueName: valueName, expected: "a string",
            parse: { $0 }, fromJSON: { $0.string }, check: check, show: show, defaultText: defaultText ?? fallback ?? "")
    }
}

extension Setting where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    static func choice(_ key: String, environment: String?, default fallback: Value?, summary: String, defaultText: String? = nil) -> Setting {
        let names = Value.allCases.map(\.rawValue)
        return Setting(
            key: key, environment: environment, fallback: fallback, summary: summary, valueName: names.joined(separator: "|"),
            expected: "one of " + names.joined(separator: ", "),
            parse: { Value(rawValue: $0.lowercased()) }, fromJSON: { $0.string.flatMap { Value(rawValue: $0.lowercased()) } },
            check: { _ in nil }, show: { $0.rawValue }, defaultText: defaultText ?? fallback?.rawValue ?? "")
    }
}

/// Every setting a command resolved, in the order resolved, for `config show`.
final class SettingsRecord: @unchecked Sendable {
    private(set) var rows: [(key: String, value: String, source: SettingSource)] = []

    func note(_ key: String, _ value: String, _ source: SettingSource) {
        rows.removeAll { $0.key == key }
        rows.append((key, value, source))
    }
}

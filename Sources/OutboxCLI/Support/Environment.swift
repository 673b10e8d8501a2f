import Foundation

/// Reads settings from the environment, for the options that have an
/// environment equivalent. A flag given on the command line always wins.
enum Environment {
    static var values: [String: String] { ProcessInfo.processInfo.environment }

    static func string(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else {
            throw CommandFailure("\(name)=\(text) is not a whole number", exitCode: Exit.usage)
        }
        return value
    }

    static func bool(_ name: String) throws -> Bool? {
        guard let text = string(name)?.lowercased() else { return nil }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw CommandFailure("\(name)=\(text) is not true or false", exitCode: Exit.usage)
        }
    }

    static func duration(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let seconds = DurationArgument.parse(text) else {
            throw CommandFailure("\(name)=\(text) is not a duration like 90s, 15m, 12h or 7d", exitCode: Exit.usage)
        }
        return seconds
    }
}

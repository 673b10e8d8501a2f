import ArgumentParser
import Foundation
import Logging
import Synchronization
import UsageOutbox

/// Log lines on stderr, as text or JSON (one object per line). Only the CLI
/// installs it; the libraries just take a `Logger`.
struct StderrLogHandler: LogHandler {
    enum Format: String, CaseIterable, Sendable { case text, json }

    let label: String
    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Keys whose values are never printed, whatever a caller passes.
    static let redactedKeys: Set<String> = ["authorization", "token", "access_token", "client_secret", "secret", "password", "bearer"]

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for key in merged.keys where StderrLogHandler.redactedKeys.contains(key.lowercased()) { merged[key] = "<redacted>" }
        let timestamp = RFC3339.format(unixMilliseconds: WallClock.nowMilliseconds())
        let line: String
        switch format {
        case .text:
            let fields = merged.keys.sorted().map { "\($0)=\(StderrLogHandler.quoteIfNeeded("\(merged[$0]!)"))" }.joined(separator: " ")
            line = "\(timestamp) \(event.level) \(label): \(event.message)" + (fields.isEmpty ? "" : " " + fields)
        case .json:
            var object: [String: JSONValue] = [
                "ts": .string(timestamp), "level": .string("\(event.level)"), "logger": .string(label), "message": .string("\(event.message)"),
            ]
            for (key, value) in merged where object[key] == nil { object[key] = StderrLogHandler.typed(value) }
            line = JSONValue.object(object).jsonText
        }
        TerminalOutput.writeLine(line)
    }

    /// A metadata value as JSON of its own type: a number, a count or a flag
    /// passed as `.stringConvertible` stays a number or a boolean, so a log
    /// pipeline can sum and compare it without parsing strings.
    static func typed(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible):
            switch convertible {
            case let flag as Bool: return .bool(flag)
            case let integer as any BinaryInteger: return Int64(exactly: integer).map(JSONValue.integer) ?? .string("\(integer)")
            case let number as Double where number.isFinite: return .number(number)
            default: return .string(convertible.description)
            }
        case .array(let values): return .array(values.map(typed))
        case .dictionary(let values): return .object(values.mapValues(typed))
        }
    }

    static func quoteIfNeeded(_ value: String) -> String {
        value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? JSONValue.string(value).jsonText : value
    }
}

/// Serializes stderr writes, so a log line does not land in the middle of a
/// redrawn progress bar: the bar is cleared first and redrawn by its owner.
enum TerminalOutput {
    static let progressLineActive = Atomic<Bool>(false)
    private static let lock = Mutex(())

    static func writeLine(_ line: String) {
        lock.withLock { _ in
            var text = line + "\n"
            if progressLineActive.load(ordering: .relaxed) { text = "\r\u{1B}[2K" + text }
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    static func writeRaw(_ text: String) {
        lock.withLock { _ in FileHandle.standardError.write(Data(text.utf8)) }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension StderrLogHandler.Format: ExpressibleByArgument {}

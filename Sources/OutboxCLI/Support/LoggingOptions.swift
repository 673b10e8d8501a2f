import ArgumentParser
import Logging
import Synchronization

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (default info, $OUTBOX_LOG_LEVEL).", valueName: "level"))
    var logLevel: Logger.Level?

    @Option(name: .long, help: ArgumentHelp("Log lines as text or json, on stderr (default text, $OUTBOX_LOG_FORMAT).", valueName: "text|json"))
    var logFormat: StderrLogHandler.Format?

    func resolve(file: ConfigFile) throws -> (level: Resolved<Logger.Level>, format: Resolved<StderrLogHandler.Format>) {
        func level(_ text: String?, _ origin: String) throws -> Logger.Level? {
            guard let text else { return nil }
            guard let level = Logger.Level(rawValue: text) else { throw CommandFailure("\(origin): unknown log level \(text)", exitCode: Exit.usage) }
            return level
        }
        func format(_ text: String?, _ origin: String) throws -> StderrLogHandler.Format? {
            guard let text else { return nil }
            guard let format = StderrLogHandler.Format(rawValue: text) else { throw CommandFailure("\(origin): log format must be text or json", exitCode: Exit.usage) }
            return format
        }
        return (
            try Resolved.resolve(flag: logLevel, environment: try level(Environment.string("OUTBOX_LOG_LEVEL"), "OUTBOX_LOG_LEVEL"),
                                 file: try level(file.string("log-level"), "config file"), default: .info),
            try Resolved.resolve(flag: logFormat, environment: try format(Environment.string("OUTBOX_LOG_FORMAT"), "OUTBOX_LOG_FORMAT"),
                                 file: try format(file.string("log-format"), "config file"), default: .text)
        )
    }

    /// Installs the stderr handler (once per process) and returns a logger.
    func bootstrap(label: String = "outbox", file: ConfigFile = .none) throws -> Logger {
        let (level, format) = try resolve(file: file)
        return LoggingOptions.bootstrap(level: level.value, format: format.value, label: label)
    }

    static func bootstrap(level: Logger.Level, format: StderrLogHandler.Format, label: String) -> Logger {
        LoggingOptions.once.withLock { done in
            guard !done else { return }
            done = true
            LoggingSystem.bootstrap { label in StderrLogHandler(label: label, format: format, logLevel: level) }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }

    private static let once = Mutex(false)
}

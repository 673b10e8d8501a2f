import ArgumentParser
import Logging
import Synchronization

struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong(Settings.logLevel.key), help: Settings.logLevel.help)
    var logLevel: Logger.Level?

    @Option(name: .customLong(Settings.logFormat.key), help: Settings.logFormat.help)
    var logFormat: StderrLogHandler.Format?

    func resolve(file: ConfigFile, record: SettingsRecord? = nil) throws -> (level: Resolved<Logger.Level>, format: Resolved<StderrLogHandler.Format>) {
        (
            try Settings.logLevel.resolve(flag: logLevel, file: file, record: record),
            try Settings.logFormat.resolve(flag: logFormat, file: file, record: record)
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

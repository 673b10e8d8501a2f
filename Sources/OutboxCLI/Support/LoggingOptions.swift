import ArgumentParser
import Logging
import Synchronization

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: ArgumentHelp("Log lines as text or json, on stderr.", valueName: "text|json"))
    var logFormat: StderrLogHandler.Format = .text

    /// Installs the stderr handler (once per process) and returns a logger.
    func bootstrap(label: String = "outbox") -> Logger {
        LoggingOptions.bootstrap(level: logLevel, format: logFormat, label: label)
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

import Logging

/// A log record the machine decided on; the shell hands it to the logger.
struct LogLine: Equatable {
    let level: Logger.Level
    let message: String
    let metadata: Logger.Metadata
}

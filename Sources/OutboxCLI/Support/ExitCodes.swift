import ArgumentParser
import Foundation
import OutboxDispatcher
import UsageOutbox

/// The contract's exit codes.
enum Exit {
    static let usage = ExitCode(64)
    static let invalidData = ExitCode(65)
    static let database = ExitCode(74)
    static let workRemains = ExitCode(75)
    static let failure = ExitCode(1)
}

/// A failure the CLI reports itself: a one-line message, an optional hint,
/// and the exit code.
struct CommandFailure: Error {
    let message: String
    let hint: String?
    let exitCode: ExitCode

    init(_ message: String, hint: String? = nil, exitCode: ExitCode = Exit.failure) {
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
    }
}

enum Stderr {
    static func print(_ line: String) {
        TerminalOutput.writeLine(line)
    }

    static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }
}

enum Stdin {
    /// Whether a person can answer: destructive commands ask for `--yes`
    /// only then (cron and scripts are never stopped by a question).
    static var isTerminal: Bool { isatty(STDIN_FILENO) != 0 }
}

enum Stdout {
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}

/// Runs a command's body and turns any error into the contract's message
/// and exit code: one line saying what was wrong, a second saying what to do,
/// never a stack trace.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch let failure as CommandFailure {
        Stderr.print("outbox: error: \(failure.message)")
        if let hint = failure.hint { Stderr.print("hint: \(hint)") }
        throw failure.exitCode
    } catch let error as OutboxError {
        for problem in error.problems { Stderr.print("  \(problem)") }
        if error.problemCount > error.problems.count {
            Stderr.print("  ... and \(error.problemCount - error.problems.count) more invalid events")
        }
        Stderr.print("outbox: error: \(error.message)")
        if let hint = ErrorHints.hint(for: error) { Stderr.print("hint: \(hint)") }
        throw exitCode(for: error)
    } catch let error as DispatcherConfigurationError {
        let failure = CommandFailure(error)
        Stderr.print("outbox: error: \(failure.message)")
        if let hint = failure.hint { Stderr.print("hint: \(hint)") }
        throw failure.exitCode
    } catch let error as SQLiteError {
        Stderr.print("outbox: error: database error: \(error.description)")
        throw Exit.database
    } catch let error as ValidationError {
        throw error
    } catch {
        Stderr.print("outbox: error: \(error)")
        throw Exit.failure
    }
}

func exitCode(for error: OutboxError) -> ExitCode {
    if [.invalidInput, .invalidMeterName, .unknownIDs, .unknownMeter].contains(error.code) { return Exit.invalidData }
    if error.code == .spoolUnavailable { return Exit.database }
    if error.code == .invalidConfiguration { return Exit.usage }
    if error.isDatabaseFailure { return Exit.database }
    return Exit.failure
}

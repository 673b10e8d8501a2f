import ArgumentParser
import Foundation
import OutboxDispatcher
import UsageOutbox

/// `outbox check`: what `drain` would run with, and whether it can: the
/// database opens, and Zuora gives a token for the credentials. `drain`
/// runs the same check when it starts.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the setup before the first event: the database opens and Zuora accepts the credentials.",
        discussion: """
            Prints the settings a drain would run with (version, database, base URL, environment, \
            budgets, concurrency), opens the database, and fetches a token as the first request would. \
            Exits 0 when all is well; 64 when the settings or the credentials are wrong (no retry can \
            help); 74 when the database cannot be opened; 75 when Zuora's token endpoint cannot be \
            reached just now (try again later).
            """
    )

    @OptionGroup var zuora: ZuoraOptions
    @OptionGroup var options: DrainOptions
    @OptionGroup var budget: BudgetOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingFailures {
            let databaseSettings = try await database.resolve()
            let logger = try logging.bootstrap(label: "outbox.check", file: databaseSettings.file)
            let drainSettings = try DrainSettings(options, budget: budget, zuora: zuora, file: databaseSettings.file)
            let settings = try drainSettings.dispatcherConfiguration(logger: logger)
            // The base URL is checked before it is printed: one holding a
            // user and password is refused, and never shown.
            do {
                _ = try ZuoraEndpoint(baseURL: settings.baseURL, allowInsecureHTTP: settings.allowInsecureHTTP)
            } catch let error as DispatcherConfigurationError {
                throw CommandFailure(error)
            }
            Stderr.print(StartupReport(database: databaseSettings.displayLocation, configuration: settings).line)
            if databaseSettings.isMissingSQLiteFile {
                // Not a failure: `drain` (or the first `append`) creates it.
                Stderr.print("check: no outbox yet at \(databaseSettings.path.value); `outbox drain` or the first `outbox append` creates it")
            } else {
                let pending = try await databaseSettings.withStore { outbox in try await outbox.status().totals.undelivered }
                Stderr.print("check: the database opens (\(ProgressDisplay.group(pending)) events to deliver)")
            }
            let check: CredentialCheck
            do {
                check = try await Dispatcher.checkCredentials(configuration: settings)
            } catch let error as DispatcherConfigurationError {
                throw CommandFailure(error)
            }
            try CheckCommand.judge(check)
            Stderr.print("check: passed")
        }
    }

    /// Credentials Zuora refused: a usage error, which no retry can fix.
    static func refusal(_ message: String, hint: String?) -> CommandFailure {
        CommandFailure(message, hint: hint ?? "check ZUORA_CLIENT_ID and ZUORA_CLIENT_SECRET, and the base URL", exitCode: Exit.usage)
    }

    /// Prints what the credential check found; throws with the contract's
    /// exit code when the drain could not work.
    static func judge(_ check: CredentialCheck) throws {
        switch check {
        case .tokenObtained(let milliseconds):
            Stderr.print("check: Zuora gave a token for the client id and secret (\(milliseconds) ms)")
        case .fixedBearerToken:
            Stderr.print("check: a fixed bearer token; Zuora judges it at the first request")
        case .refused(let message, let hint):
            throw refusal(message, hint: hint)
        case .unavailable(let message):
            throw CommandFailure(
                "cannot get a token from Zuora just now: \(message)", hint: "check the base URL and the network; try again later",
                exitCode: Exit.workRemains)
        }
    }
}

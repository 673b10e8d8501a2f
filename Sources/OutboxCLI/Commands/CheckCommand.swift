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
            budgets, concurrency), opens the database, fetches a token as the first request would, and, \
            for each meter with a numeric meter id (--meter-id), reads a minute of its audit trail to \
            prove Zuora knows the id. Exits 0 when all is well; 64 when the settings, the credentials \
            or a meter id are wrong (no retry can help); 74 when the database cannot be opened or \
            created; 75 when Zuora cannot be reached just now (try again later).
            """
    )

    @OptionGroup var zuora: ZuoraOptions
    @OptionGroup var options: DrainOptions
    @OptionGroup var budget: BudgetOptions
    @OptionGroup var meterIDs: MeterIDOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingFailures {
            let setup = try await DrainSetup.resolve(
                label: "outbox.check", database: database, logging: logging, options: options, budget: budget, zuora: zuora, meterIDs: meterIDs)
            let (databaseSettings, settings, ids) = (setup.database, setup.configuration, setup.meterIDs)
            // The base URL is checked before it is printed: one holding a
            // user and password is refused, and never shown.
            do {
                _ = try ZuoraEndpoint(baseURL: settings.baseURL, allowInsecureHTTP: settings.allowInsecureHTTP)
            } catch let error as DispatcherConfigurationError {
                throw CommandFailure(error)
            }
            Stderr.print(StartupReport(database: databaseSettings.displayLocation, configuration: settings).line)
            if databaseSettings.isMissingSQLiteFile {
                // Not a failure, if `drain` (or the first `append`) can create it.
                try CheckCommand.requireCreatableDirectory(of: databaseSettings.path.value)
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
            if !ids.isEmpty {
                let eventIdField = databaseSettings.eventIdField.value
                let probe: (any OperatedStore) async throws -> Void = { outbox in
                    let dispatcher = try Dispatcher(outbox: outbox, configuration: settings)
                    let reconciler = try dispatcher.reconciler(outbox: outbox, meterIDs: ids, eventIdField: eventIdField)
                    try CheckCommand.judge(await reconciler.probeMeters())
                }
                if databaseSettings.isMissingSQLiteFile {
                    // Audit reads count against budgets kept in a database:
                    // before the first append, a scratch one, thrown away.
                    try await CheckCommand.withScratchOutbox(probe)
                } else {
                    try await databaseSettings.withStore(probe)
                }
            }
            Stderr.print("check: passed")
        }
    }

    /// An outbox in a temporary directory, removed afterwards.
    static func withScratchOutbox(_ body: (any OperatedStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-check-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outbox = try Outbox(OutboxConfiguration(path: directory.appendingPathComponent("scratch.sqlite").path))
        defer { outbox.close() }
        try await body(outbox)
    }

    /// A missing database is fine only where `drain` can create it.
    static func requireCreatableDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let parent = directory.isEmpty ? "." : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure(
                "there is no directory \(parent) for the outbox at \(path), so `outbox drain` could not create it",
                hint: "create the directory (owned by the user the drain runs as), or fix --db", exitCode: Exit.database)
        }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw CommandFailure(
                "this user cannot create files in \(parent), so `outbox drain` could not create the outbox at \(path)",
                hint: "run as the user that owns the directory, or fix its owner and mode", exitCode: Exit.database)
        }
    }

    /// Prints what each meter id probe found; a meter id Zuora does not
    /// know is a usage error, an unreachable audit trail a try-later.
    static func judge(_ probes: [(meter: String, meterID: Int64, probe: MeterProbe)]) throws {
        var unreachable: String?
        for (meter, meterID, probe) in probes {
            switch probe {
            case .found:
                Stderr.print("check: Zuora knows meter id \(meterID) (\(meter))")
            case .noSuchMeter:
                throw CommandFailure(
                    "Zuora has no meter with id \(meterID), mapped from \(meter) (HTTP 404)",
                    hint: "fix the mapping (--meter-id GLOBAL=ID, OUTBOX_METER_IDS or the config file's \"meter-ids\")", exitCode: Exit.usage)
            case .refused(let message):
                throw CommandFailure(
                    "Zuora refused to read meter \(meter)'s audit trail: \(message)",
                    hint: "the OAuth client needs permission to read meters' audit trails (for reconcile)", exitCode: Exit.usage)
            case .unreachable(let message):
                unreachable = unreachable ?? "cannot read meter \(meter)'s audit trail just now: \(message)"
            }
        }
        if let unreachable {
            throw CommandFailure(unreachable, hint: "check the base URL and the network; try again later", exitCode: Exit.workRemains)
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

import ArgumentParser
import Foundation
import Logging
import OutboxDispatcher
import UsageOutbox

struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Find the events Zuora rejected after answering 200, and dead-letter them.",
        discussion: """
            A 200 from /usage/bulk/{meter} means the request passed Zuora's API checks; each \
            event is validated against the meter's definition afterwards, in Mediation, and \
            one that fails is listed in the meter's audit trail. Reconcile reads the ERROR \
            entries of the last --since (default 24h) for every meter with a numeric meter id \
            (--meter-id GLOBAL=ID, OUTBOX_METER_IDS or the config file's "meter-ids"), matches \
            each to a sent event (by the event id field, else by content), and moves the \
            matches from sent to dead with Zuora's error code and message. It is idempotent: \
            each entry is acted on once.

            Exit codes: 0 when done, whatever it found; 75 when Zuora could not be read \
            (matches already applied stay applied); 64 for usage errors; 74 for database errors.

            Example:  outbox reconcile --meter-id api-calls=101 --since 48h
            """
    )

    @Option(name: .long, help: ArgumentHelp("Reconcile only this meter (repeatable; default: every meter with a known meter id).", valueName: "meter"))
    var meter: [String] = []

    @Option(name: .long, help: ArgumentHelp("How far back to read the audit trail (default 24h).", valueName: "duration"))
    var since = DurationArgument(seconds: 86_400)

    @Option(name: .customLong(Settings.eventIdField.key), help: Settings.eventIdField.help)
    var eventIdField: String?

    @OptionGroup var meterIDs: MeterIDOptions
    @OptionGroup var zuora: ZuoraOptions
    @OptionGroup var budget: BudgetOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard since.seconds > 0 else { throw ValidationError("--since must be longer than zero") }
    }

    func run() async throws {
        try await reportingFailures {
            let databaseSettings = try await database.resolve()
            let logger = try logging.bootstrap(label: "outbox.reconcile", file: databaseSettings.file)
            let ids = try MeterIDs.resolve(flags: meterIDs.meterID, file: databaseSettings.file).mapValues(\.value)
            if let missing = meter.first(where: { ids[$0] == nil }) {
                throw CommandFailure(
                    "meter \(missing) has no known meter id, so its audit trail cannot be read",
                    hint: "map it with --meter-id \(missing)=ID or OUTBOX_METER_IDS=\"\(missing)=ID\" (Zuora's numeric meter id)",
                    exitCode: Exit.usage)
            }
            if meter.isEmpty && ids.isEmpty {
                throw CommandFailure(
                    "no meter has a known meter id, so there is no audit trail to read",
                    hint: "map meters with --meter-id GLOBAL=ID, OUTBOX_METER_IDS=\"g1=101,g2=102\" or the config file's \"meter-ids\"",
                    exitCode: Exit.usage)
            }
            for name in meter { try MeterName.validate(name) }
            let zuoraSettings = try ZuoraSettings(zuora, file: databaseSettings.file)
            var settings = try zuoraSettings.dispatcherConfiguration(logger: logger)
            // Audit reads take from the budgets the drains share.
            try BudgetSettings(budget, environment: zuoraSettings.environment.value, file: databaseSettings.file).apply(to: &settings)
            do {
                try settings.validate()
            } catch let error as DispatcherConfigurationError {
                throw CommandFailure(error)
            }
            settings.deduplicatorOperatorIDs = try meterIDs.deduplicatorOperatorIDs()
            let field = try Settings.eventIdField.resolveOptional(flag: eventIdField, file: databaseSettings.file).value
            try await databaseSettings.withStore { outbox in
                let reconciler = try Reconciler(store: outbox, configuration: settings, meterIDs: ids, eventIdField: field)
                let report: ReconcileReport
                do {
                    report = try await reconciler.run(meters: meter.isEmpty ? nil : meter, since: .milliseconds(Int64(since.seconds * 1000)))
                } catch let failure as Reconciler.Failure {
                    switch failure {
                    case .noMeterID, .noSuchMeter:
                        throw CommandFailure(
                            failure.description, hint: "check the meter's numeric id in Zuora and --meter-id / OUTBOX_METER_IDS",
                            exitCode: Exit.usage)
                    case .refused(let message):
                        throw CommandFailure(
                            message, hint: "check ZUORA_CLIENT_ID/ZUORA_CLIENT_SECRET, and that the OAuth client may read meters",
                            exitCode: Exit.workRemains)
                    case .unreachable(let message):
                        throw CommandFailure(message, hint: "run it again later; matches already applied stay applied", exitCode: Exit.workRemains)
                    }
                }
                emit(report)
            }
        }
    }

    private func emit(_ report: ReconcileReport) {
        func counts(_ counts: ReconcileReport.Counts) -> [String: JSONValue] {
            [
                "entries": .integer(Int64(counts.entries)), "late_rejected": .integer(Int64(counts.lateRejected)),
                "already_dead": .integer(Int64(counts.alreadyDead)), "already_applied": .integer(Int64(counts.alreadyApplied)),
                "unmatched": .integer(Int64(counts.unmatched)), "duplicates_discarded": .integer(Int64(counts.duplicatesDiscarded)),
            ]
        }
        func listed(_ entry: ReconcileReport.UnmatchedEntry) -> JSONValue {
            .object([
                "meter": .string(entry.meter), "trace_id": .string(entry.traceID), "error_code": .string(entry.errorCode),
                "error_message": .string(entry.errorMessage), "operator_type": entry.operatorType.map { .string($0) } ?? .null,
                // The payload as JSON when it is JSON (Zuora sends an object), else as text.
                "payload": (try? JSONSerialization.jsonObject(with: Data(entry.payload.utf8), options: [.fragmentsAllowed])) != nil
                    ? .rawJSON(entry.payload) : .string(entry.payload),
            ])
        }
        let totals = report.totals
        if output.json {
            var object = counts(totals)
            object["meters"] = .object(report.meters.mapValues { .object(counts($0)) })
            object["unmatched_entries"] = .array(report.unmatchedEntries.map(listed))
            Stdout.print(JSONValue.object(object).jsonText)
        } else {
            for name in report.meters.keys.sorted() {
                let c = report.meters[name]!
                Stderr.print(
                    "meter \(name): \(c.entries) audit entries, \(c.lateRejected) newly dead-lettered, \(c.alreadyDead) already dead, "
                        + "\(c.duplicatesDiscarded) discarded duplicates (still sent), \(c.alreadyApplied) seen before, \(c.unmatched) unmatched")
            }
            for entry in report.unmatchedEntries {
                Stderr.print("unmatched: meter \(entry.meter) trace \(entry.traceID) \(entry.errorCode): \(entry.errorMessage) payload \(entry.payload)")
            }
        }
        Stderr.print(
            "reconcile: \(totals.lateRejected) event\(totals.lateRejected == 1 ? "" : "s") rejected by Zuora after acceptance moved to dead letters"
                + " (\(totals.entries) entries read)")
        if totals.lateRejected > 0 {
            Stderr.print("hint: see them with `outbox dead-letters list`; fix the cause, then `outbox dead-letters retry`")
        }
        if totals.unmatched > 0 {
            Stderr.print("hint: \(totals.unmatched) entries match no sent event here: another producer's, purged, or matched by neither id nor content")
        }
    }
}

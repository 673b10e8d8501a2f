import Logging
import OutboxDispatcher

/// What a drain runs with, resolved the same way for `drain` and `check`,
/// so `check` passes exactly the setups `drain` accepts: the database, the
/// logger, the drain's settings, the dispatcher's configuration and the
/// meter ids.
struct DrainSetup {
    let database: DatabaseSettings
    let logger: Logger
    let drain: DrainSettings
    let configuration: DispatcherConfiguration
    let meterIDs: [String: Int64]

    static func resolve(
        label: String, database: DatabaseOptions, logging: LoggingOptions, options: DrainOptions, budget: BudgetOptions, zuora: ZuoraOptions,
        meterIDs: MeterIDOptions
    ) async throws -> DrainSetup {
        let databaseSettings = try await database.resolve()
        let logger = try logging.bootstrap(label: label, file: databaseSettings.file)
        let drain = try DrainSettings(options, budget: budget, zuora: zuora, file: databaseSettings.file)
        var configuration = try drain.dispatcherConfiguration(logger: logger)
        configuration.deduplicatorOperatorIDs = try meterIDs.deduplicatorOperatorIDs()
        let ids = try MeterIDs.resolve(flags: meterIDs.meterID, file: databaseSettings.file).mapValues(\.value)
        try drain.requireMeterIDsForReconcile(ids)
        return DrainSetup(database: databaseSettings, logger: logger, drain: drain, configuration: configuration, meterIDs: ids)
    }
}

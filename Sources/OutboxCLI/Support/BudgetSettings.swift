import OutboxDispatcher

/// The shared request budgets, resolved (flag, variable, config file,
/// else the Zuora environment's figures), each with where it came from.
struct BudgetSettings {
    let perMinute: Resolved<Int?>
    let perHour: Resolved<Int?>
    let perDay: Resolved<Int?>
    let maxConcurrent: Resolved<Int>

    init(_ options: BudgetOptions?, environment: ZuoraEnvironment?, file: ConfigFile, record: SettingsRecord? = nil) throws {
        perMinute = try Settings.maxRequestsPerMinute.resolveOptional(flag: options?.maxRequestsPerMinute, file: file, record: record)
        if perMinute.value == nil, let environment {
            record?.note(Settings.maxRequestsPerMinute.key, "\(environment.maxRequestsPerMinute) (the \(environment)'s calls per minute)", .inferred)
        }
        perHour = try Settings.maxRequestsPerHour.resolveOptional(flag: options?.maxRequestsPerHour, file: file, record: record)
        perDay = try Settings.maxRequestsPerDay.resolveOptional(flag: options?.maxRequestsPerDay, file: file, record: record)
        if perDay.value == nil, let environment, let cap = environment.maxRequestsPerDay {
            record?.note(Settings.maxRequestsPerDay.key, "\(cap) (the \(environment)'s daily cap)", .inferred)
        }
        maxConcurrent = try Settings.maxConcurrentRequests.resolve(flag: options?.maxConcurrentRequests, file: file, record: record)
    }

    func apply(to settings: inout DispatcherConfiguration) {
        settings.maxRequestsPerMinute = perMinute.value
        settings.maxRequestsPerHour = perHour.value
        settings.maxRequestsPerDay = perDay.value
        settings.maxConcurrentRequests = maxConcurrent.value
    }
}

/// An error from the outbox, meant to be shown to a person: `message` says in
/// one line what went wrong, `hint` what to do about it. `code` is a short,
/// fixed name, fit for a metric label or a `switch`.
///
/// Messages never hold event data bound into SQL, tokens or secrets.
public struct OutboxError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// Input events break the contract; nothing was written.
        public static let invalidInput = Code(name: "invalid_input")
        /// A meter name outside the allowed alphabet or length.
        public static let invalidMeterName = Code(name: "invalid_meter_name")
        /// The app's own write broke a constraint of its tables (a unique
        /// key, a foreign key, a check), whichever store refused it.
        public static let constraintViolation = Code(name: "constraint_violation")
        /// No room or no access to set a piped input aside before appending it.
        public static let spoolUnavailable = Code(name: "spool_unavailable")
        /// Ids that name no dead letter; nothing was changed.
        public static let unknownIDs = Code(name: "unknown_ids")
        /// A meter the outbox has never seen; nothing was changed.
        public static let unknownMeter = Code(name: "unknown_meter")
        /// The input could not be read.
        public static let inputUnreadable = Code(name: "input_unreadable")
        /// The database file cannot be opened or created.
        public static let cannotOpen = Code(name: "cannot_open")
        /// Another connection held the write lock past the busy timeout.
        public static let locked = Code(name: "locked")
        /// The file is SQLite but holds another application's tables.
        public static let notAnOutbox = Code(name: "not_an_outbox")
        /// The file is not SQLite, or SQLite found it damaged.
        public static let corrupt = Code(name: "corrupt")
        /// The schema was written by a newer outbox than this one.
        public static let schemaTooNew = Code(name: "schema_too_new")
        /// The disk is full.
        public static let diskFull = Code(name: "disk_full")
        /// The file or its directory is read-only.
        public static let readOnly = Code(name: "read_only")
        /// Any other storage failure.
        public static let storage = Code(name: "storage")
        /// The outbox was closed.
        public static let closed = Code(name: "closed")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(name: "invalid_configuration")
    }

    public let code: Code
    public let message: String
    public let hint: String?
    /// The events that broke the contract, for `invalidInput`.
    public let problems: [EventProblem]
    /// How many problems there were in all (`problems` may hold only the first ones).
    public let problemCount: Int
    /// The error underneath (a database driver's), for logs and for apps
    /// that want to match it.
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, hint: String? = nil, problems: [EventProblem] = [], problemCount: Int? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.problems = problems
        self.problemCount = problemCount ?? problems.count
        self.underlying = underlying
    }

    public var description: String {
        var text = message
        if let hint { text += "\n" + hint }
        return text
    }

    /// True for failures of the database itself (exit 74 in the CLI).
    public var isDatabaseFailure: Bool {
        [.cannotOpen, .locked, .notAnOutbox, .corrupt, .schemaTooNew, .diskFull, .readOnly, .storage].contains(code)
    }
}

extension OutboxError {
    /// The app's own write broke a constraint (the store's message, and its
    /// error underneath).
    public static func constraintViolation(_ detail: String, underlying: any Error) -> OutboxError {
        OutboxError(.constraintViolation, "a constraint refused the write: \(detail)", hint: "nothing of the transaction was kept", underlying: underlying)
    }

    package static func invalidEvents(_ problems: [EventProblem], total: Int) -> OutboxError {
        let noun = total == 1 ? "event is" : "events are"
        return OutboxError(
            .invalidInput, "\(total) \(noun) invalid; nothing was appended", hint: "fix the events listed and append them again",
            problems: problems, problemCount: total)
    }
}

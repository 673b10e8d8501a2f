import CSQLite

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
    public let underlying: SQLiteError?

    public init(_ code: Code, _ message: String, hint: String? = nil, problems: [EventProblem] = [], problemCount: Int? = nil, underlying: SQLiteError? = nil) {
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

    /// Translates SQLite's error into one a person can act on.
    public init(_ error: SQLiteError, path: String, busyTimeoutMilliseconds: Int = 5000) {
        let file = path
        switch error.resultCode {
        case SQLITE_BUSY, SQLITE_LOCKED:
            self.init(.locked, "the database \(file) stayed locked by another connection for longer than the busy timeout (\(busyTimeoutMilliseconds) ms)",
                      hint: "retry later; if it persists, look for a process holding a long write transaction", underlying: error)
        case SQLITE_NOTADB:
            self.init(.corrupt, "\(file) is not an SQLite database (or is encrypted, or damaged beyond its header)",
                      hint: "check --db / OUTBOX_DB: it must name an outbox file or a path for a new one", underlying: error)
        case SQLITE_CORRUPT:
            self.init(.corrupt, "the database \(file) is corrupt (\(error.codeName))",
                      hint: "stop writers, keep a copy, then restore from a backup or salvage rows with `sqlite3 \(file) .recover`", underlying: error)
        case SQLITE_FULL:
            self.init(.diskFull, "the disk holding \(file) is full; the write was rolled back",
                      hint: "free some space and run the command again", underlying: error)
        case SQLITE_READONLY:
            self.init(.readOnly, "cannot write \(file): the file or its directory is read-only (\(error.codeName))",
                      hint: "check permissions; SQLite also needs to create \(file)-wal and \(file)-shm beside it", underlying: error)
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH:
            self.init(.cannotOpen, "cannot open the database \(file): \(error.message)",
                      hint: "check that the directory exists and is writable, or pass another --db", underlying: error)
        case SQLITE_IOERR:
            self.init(.storage, "I/O error on \(file) (\(error.codeName), extended code \(error.extendedCode)): \(error.message)",
                      hint: "check the disk and file system; nothing from the failed write was committed", underlying: error)
        default:
            self.init(.storage, "database error on \(file): \(error.description)", underlying: error)
        }
    }
}

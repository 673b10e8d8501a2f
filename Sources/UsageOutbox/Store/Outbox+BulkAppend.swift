/// Appending a whole input stream: `outbox append` and large imports.
extension Outbox {
    /// Most problems kept for reporting; the rest are only counted.
    static let maxReportedProblems = 100

    /// Reads events from `fileDescriptor` (one JSON object, a JSON array of
    /// objects, or NDJSON) and appends them to `meter` in one transaction: all
    /// of them, or, when any is invalid, none (the error lists each invalid
    /// event's position and reason).
    ///
    /// NDJSON is streamed, so memory stays bounded whatever the input size; a
    /// JSON array or a pretty-printed object is read whole first.
    /// `progress` is called now and then with the bytes read and events seen.
    /// Returns the number of events appended, durable on return.
    public func appendStream(
        fileDescriptor: Int32,
        meter: String,
        progress: (@Sendable (_ bytesRead: Int, _ events: Int) -> Void)? = nil
    ) async throws -> Int {
        try MeterName.validate(meter)
        let eventIdField = configuration.eventIdField
        let ids = database.ids
        let appended = try await database.withConnection { connection in
            let reader = InputReader(fileDescriptor: fileDescriptor)
            return try connection.writeTransaction {
                var session = try BulkAppendSession(connection: connection, meter: meter, eventIdField: eventIdField, ids: ids, reader: reader, progress: progress)
                try session.run()
                if session.problemCount > 0 {
                    throw OutboxError.invalidEvents(session.problems, total: session.problemCount)
                }
                if session.inserter.count == 0 {
                    throw OutboxError(.invalidInput, "the input holds no events; nothing was appended",
                                      hint: "give one JSON object, a JSON array of objects, or NDJSON (one object per line)",
                                      problems: [EventProblem(position: .input, reason: "the input holds no events")])
                }
                try MeterCounters.apply(StateCounts(appended: session.inserter.count, pending: session.inserter.count), to: meter, on: connection)
                return session.inserter.count
            }
        }
        notifyAppended()
        return appended
    }
}

/// One streaming append: picks the input's form from its first byte and
/// feeds each valid event to the inserter.
struct BulkAppendSession {
    var inserter: EventInserter
    let parser: EventParser
    let reader: InputReader
    let progress: (@Sendable (Int, Int) -> Void)?
    var problems: [EventProblem] = []
    var problemCount = 0
    private var eventsSeen = 0

    init(connection: SQLiteConnection, meter: String, eventIdField: String?, ids: IDGenerator, reader: InputReader, progress: (@Sendable (Int, Int) -> Void)?) throws {
        inserter = try EventInserter(connection: connection, meter: meter, eventIdField: eventIdField, ids: ids)
        parser = EventParser(eventIdField: eventIdField)
        self.reader = reader
        self.progress = progress
    }

    mutating func run() throws {
        try reader.skipByteOrderMark()
        switch try reader.peekFirstNonWhitespace() {
        case nil:
            return  // no events: the caller reports it
        case UInt8(ascii: "["):
            try appendDocument(reader.readAll(), firstLine: 1)
        case UInt8(ascii: "{"):
            try appendLines()
        case let byte?:
            report(EventProblem(position: .input, reason: "the input must be a JSON object, a JSON array of objects, or NDJSON; it starts with \(JSONSyntaxError.describe(byte))"))
        }
        progress?(reader.bytesConsumed, eventsSeen)
    }

    /// NDJSON, one object per line. If the first object runs past its line,
    /// the input is a pretty-printed document instead, and is read whole.
    private mutating func appendLines() throws {
        var lineNumber = 0
        var sawEvent = false
        while let line = try reader.nextLine() {
            lineNumber += 1
            switch parser.parseLine(line, number: lineNumber) {
            case .blank:
                continue
            case .event(let event):
                try accept(event)
            case .problem(let problem):
                eventsSeen += 1
                report(problem)
            case .incomplete where !sawEvent && problemCount == 0:
                // Copy the line out: readAll may move the reader's buffer.
                let head = Array(line)
                let rest = try reader.readAll()
                var document = head
                document.append(0x0A)
                document.append(contentsOf: rest)
                try document.withUnsafeBufferPointer { try appendDocument($0, firstLine: lineNumber) }
                return
            case .incomplete:
                eventsSeen += 1
                report(EventProblem(position: .line(lineNumber), reason: "truncated JSON: the line ends before the event's closing '}'"))
            }
            sawEvent = true
        }
    }

    private mutating func appendDocument(_ document: UnsafeBufferPointer<UInt8>, firstLine: Int) throws {
        var collected: [EventProblem] = []
        try parser.parseDocument(document, firstLine: firstLine, onEvent: { event in
            try accept(event)
        }, onProblem: { problem in
            collected.append(problem)
        })
        for problem in collected {
            eventsSeen += 1
            report(problem)
        }
    }

    private mutating func accept(_ event: ParsedEvent) throws {
        eventsSeen += 1
        // Once an event is invalid nothing will be kept, so stop inserting and
        // only validate the rest, to report every problem in one run.
        if problemCount == 0 {
            try inserter.insertWithoutID(event.bytes, hasEventIdField: event.hasEventIdField)
        }
        if eventsSeen % 65_536 == 0 { progress?(reader.bytesConsumed, eventsSeen) }
    }

    private mutating func report(_ problem: EventProblem) {
        problemCount += 1
        if problems.count < Outbox.maxReportedProblems { problems.append(problem) }
    }
}

extension EventInserter {
    mutating func insertWithoutID(_ body: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool) throws {
        try withUnsafeTemporaryAllocation(byteCount: 36, alignment: 1) { idBytes in
            try insert(body, hasEventIdField: hasEventIdField, idBytes: idBytes)
        }
    }
}

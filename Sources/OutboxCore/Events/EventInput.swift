/// An input of events being read: one JSON object, one JSON array of
/// objects, or NDJSON (one object per line, blank lines ignored), with an
/// optional UTF-8 byte order mark. Any store appends from it the same way:
///
/// ```swift
/// let input = EventInput(fileDescriptor: fd, eventIdField: nil)
/// while try input.read(limit: 5000, { bytes, hasEventIdField in ... }) {}
/// if input.problemCount > 0 { roll back: input.problems says why }
/// ```
///
/// NDJSON is streamed (memory bounded by the longest line); a JSON array or
/// a pretty-printed object is read whole first. Invalid events are collected
/// (the first `maxReportedProblems` of them, all counted), and once one is
/// found valid events are no longer handed out, since nothing will be kept.
package final class EventInput {
    package static let maxReportedProblems = 100

    package private(set) var problems: [EventProblem] = []
    package private(set) var problemCount = 0
    /// Events seen so far, valid or not.
    package private(set) var eventsSeen = 0
    /// Valid events handed to `read`'s body.
    package private(set) var eventsDelivered = 0
    package var bytesConsumed: Int { reader.bytesConsumed }

    private enum Mode {
        case undecided
        case lines(number: Int, sawEvent: Bool)
        /// A whole document, parsed: the events' ranges in `document`.
        case document(events: [(range: Range<Int>, hasEventIdField: Bool)], next: Int)
        case finished
    }

    private let reader: InputReader
    private let parser: EventParser
    private var mode = Mode.undecided
    private var document: [UInt8] = []

    package init(fileDescriptor: Int32, eventIdField: String?, maxEventBytes: Int = EventSizeLimit.default) {
        reader = InputReader(fileDescriptor: fileDescriptor)
        parser = EventParser(eventIdField: eventIdField, maxEventBytes: maxEventBytes)
    }

    /// Hands up to `limit` valid events to `body` (their bytes are valid only
    /// during the call). Returns false once the input is exhausted.
    package func read(limit: Int, _ body: (UnsafeBufferPointer<UInt8>, _ hasEventIdField: Bool) throws -> Void) throws -> Bool {
        var delivered = 0
        while delivered < limit {
            switch mode {
            case .finished:
                return false
            case .undecided:
                try decide()
            case .document(let events, let next):
                guard next < events.count else {
                    mode = .finished
                    return false
                }
                let end = min(events.count, next + (limit - delivered))
                try document.withUnsafeBufferPointer { buffer in
                    for event in events[next..<end] where problemCount == 0 {
                        try body(UnsafeBufferPointer(rebasing: buffer[event.range]), event.hasEventIdField)
                        eventsDelivered += 1
                    }
                }
                delivered += end - next
                mode = .document(events: events, next: end)
            case .lines(var number, var sawEvent):
                // Room for the largest event and whitespace around it.
                guard let bounded = try reader.nextLine(atMost: parser.maxEventBytes + 4096) else {
                    mode = .finished
                    return false
                }
                number += 1
                guard case .text(let line) = bounded else {
                    if case .tooLong(let bytes) = bounded {
                        eventsSeen += 1
                        sawEvent = true
                        report(
                            EventProblem(
                                position: .line(number),
                                reason: "the line is \(bytes) bytes; an event must fit in one request on its own, at most \(parser.maxEventBytes) bytes"))
                    }
                    mode = .lines(number: number, sawEvent: sawEvent)
                    continue
                }
                switch parser.parseLine(line, number: number) {
                case .blank:
                    break
                case .event(let event):
                    eventsSeen += 1
                    sawEvent = true
                    if problemCount == 0 {
                        try body(event.bytes, event.hasEventIdField)
                        eventsDelivered += 1
                        delivered += 1
                    }
                case .problem(let problem):
                    eventsSeen += 1
                    sawEvent = true
                    report(problem)
                case .incomplete where !sawEvent && problemCount == 0:
                    // The first object runs past its line: a pretty-printed
                    // document, not NDJSON. Read it whole.
                    let head = Array(line)
                    var whole = head
                    whole.append(0x0A)
                    whole.append(contentsOf: try reader.readAll())
                    parseDocument(whole, firstLine: number)
                    continue
                case .incomplete:
                    eventsSeen += 1
                    report(EventProblem(position: .line(number), reason: "truncated JSON: the line ends before the event's closing '}'"))
                }
                if case .lines = mode { mode = .lines(number: number, sawEvent: sawEvent) }
            }
        }
        return true
    }

    /// Picks the input's form from its first byte.
    private func decide() throws {
        try reader.skipByteOrderMark()
        switch try reader.peekFirstNonWhitespace() {
        case nil:
            mode = .finished
        case UInt8(ascii: "["):
            parseDocument(Array(try reader.readAll()), firstLine: 1)
        case UInt8(ascii: "{"):
            mode = .lines(number: 0, sawEvent: false)
        case let byte?:
            report(
                EventProblem(
                    position: .input,
                    reason: "the input must be a JSON object, a JSON array of objects, or NDJSON; it starts with \(JSONSyntaxError.describe(byte))"))
            mode = .finished
        }
    }

    private func parseDocument(_ bytes: [UInt8], firstLine: Int) {
        document = bytes
        var events: [(range: Range<Int>, hasEventIdField: Bool)] = []
        var found: [EventProblem] = []
        document.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            parser.parseDocument(
                buffer, firstLine: firstLine,
                onEvent: { event in
                    let start = base.map { event.bytes.baseAddress! - $0 } ?? 0
                    events.append((start..<(start + event.bytes.count), event.hasEventIdField))
                }, onProblem: { found.append($0) })
        }
        eventsSeen += events.count + found.count
        for problem in found { report(problem) }
        mode = .document(events: events, next: 0)
    }

    private func report(_ problem: EventProblem) {
        problemCount += 1
        if problems.count < EventInput.maxReportedProblems { problems.append(problem) }
    }

    /// The error for this input once read: invalid events, or no events.
    package func finalError() -> OutboxError? {
        if problemCount > 0 { return OutboxError.invalidEvents(problems, total: problemCount) }
        if eventsDelivered == 0 {
            return OutboxError(
                .invalidInput, "the input holds no events; nothing was appended",
                hint: "give one JSON object, a JSON array of objects, or NDJSON (one object per line)",
                problems: [EventProblem(position: .input, reason: "the input holds no events")])
        }
        return nil
    }
}

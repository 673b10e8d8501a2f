/// One valid event found in an input: its bytes (valid only during the
/// callback) and where it was.
struct ParsedEvent {
    let bytes: UnsafeBufferPointer<UInt8>
    let hasEventIdField: Bool
    let position: EventProblem.Position
}

/// Splits an input into events and validates each one. Inputs are one JSON
/// object, one JSON array of objects, or NDJSON (one object per line, blank
/// lines ignored). Valid events go to `onEvent`; each invalid one becomes an
/// `EventProblem` with its position.
struct EventParser {
    let validator: EventValidator
    let eventIdField: String?
    /// The largest event accepted, as stored (`EventSizeLimit`).
    let maxEventBytes: Int

    init(eventIdField: String?, maxEventBytes: Int = EventSizeLimit.default) {
        validator = EventValidator(eventIdField: eventIdField.map { Array($0.utf8) })
        self.eventIdField = eventIdField
        self.maxEventBytes = maxEventBytes
    }

    /// What is wrong with a validated object: the validator's findings, and its size.
    func problems(of result: EventValidator.Result) -> [String] {
        guard
            let tooLarge = EventSizeLimit.problem(
                bytes: result.range.count, hasEventIdField: result.hasEventIdField, eventIdField: eventIdField, limit: maxEventBytes)
        else { return result.problems }
        return result.problems + [tooLarge]
    }

    enum LineOutcome {
        case blank
        case event(ParsedEvent)
        case problem(EventProblem)
        /// The line holds the start of an object that continues on later lines
        /// (a pretty-printed document rather than NDJSON).
        case incomplete
    }

    /// Parses one NDJSON line (without its line break).
    func parseLine(_ line: UnsafeBufferPointer<UInt8>, number: Int) -> LineOutcome {
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        if scanner.isAtEnd { return .blank }
        let position = EventProblem.Position.line(number)
        do {
            let result = try validator.validateObject(&scanner)
            scanner.skipWhitespace()
            if !scanner.isAtEnd {
                return .problem(EventProblem(position: position, reason: "unexpected text after the event's closing '}'; NDJSON takes one object per line"))
            }
            let problems = problems(of: result)
            if !problems.isEmpty {
                return .problem(EventProblem(position: position, reason: problems.joined(separator: "; ")))
            }
            return .event(ParsedEvent(bytes: UnsafeBufferPointer(rebasing: line[result.range]), hasEventIdField: result.hasEventIdField, position: position))
        } catch {
            if case .unexpectedEnd = error.reason { return .incomplete }
            return .problem(EventProblem(position: position, reason: error.message + " (at column \(error.offset + 1))"))
        }
    }

    /// Parses a whole document: one array of objects, or one or more objects
    /// separated by whitespace (positions are then the line each starts on).
    /// A syntax error ends the parse, since nothing after it can be trusted.
    func parseDocument(
        _ document: UnsafeBufferPointer<UInt8>,
        firstLine: Int = 1,
        onEvent: (ParsedEvent) throws -> Void,
        onProblem: (EventProblem) -> Void
    ) rethrows {
        var scanner = JSONScanner(document)
        scanner.skipWhitespace()
        guard let first = scanner.current else {
            onProblem(EventProblem(position: .input, reason: "the input holds no events"))
            return
        }
        if first == UInt8(ascii: "[") {
            try parseArray(&scanner, onEvent: onEvent, onProblem: onProblem)
        } else {
            try parseObjects(&scanner, firstLine: firstLine, onEvent: onEvent, onProblem: onProblem)
        }
    }

    private func parseArray(
        _ scanner: inout JSONScanner,
        onEvent: (ParsedEvent) throws -> Void,
        onProblem: (EventProblem) -> Void
    ) rethrows {
        scanner.index += 1
        scanner.skipWhitespace()
        if scanner.current == UInt8(ascii: "]") {
            onProblem(EventProblem(position: .input, reason: "the input holds no events (an empty array)"))
            return
        }
        var element = 0
        while true {
            element += 1
            scanner.skipWhitespace()
            let position = EventProblem.Position.element(element)
            let result: EventValidator.Result
            do {
                result = try validator.validateObject(&scanner)
            } catch {
                onProblem(EventProblem(position: position, reason: error.message + lineAndColumn(error.offset, in: scanner.bytes)))
                return
            }
            let problems = problems(of: result)
            if problems.isEmpty {
                try onEvent(
                    ParsedEvent(bytes: UnsafeBufferPointer(rebasing: scanner.bytes[result.range]), hasEventIdField: result.hasEventIdField, position: position))
            } else {
                onProblem(EventProblem(position: position, reason: problems.joined(separator: "; ")))
            }
            scanner.skipWhitespace()
            guard let byte = scanner.current else {
                onProblem(EventProblem(position: .input, reason: "truncated JSON: the array is not closed with ']'"))
                return
            }
            scanner.index += 1
            if byte == UInt8(ascii: "]") { break }
            guard byte == UInt8(ascii: ",") else {
                onProblem(
                    EventProblem(position: position, reason: "invalid JSON: expected ',' or ']' after the event, found \(JSONSyntaxError.describe(byte))"))
                return
            }
            scanner.skipWhitespace()
            if scanner.current == UInt8(ascii: "]") {
                onProblem(EventProblem(position: position, reason: "invalid JSON: trailing comma in the array"))
                return
            }
        }
        scanner.skipWhitespace()
        if !scanner.isAtEnd {
            onProblem(EventProblem(position: .input, reason: "unexpected data after the array's closing ']'" + lineAndColumn(scanner.index, in: scanner.bytes)))
        }
    }

    private func parseObjects(
        _ scanner: inout JSONScanner,
        firstLine: Int,
        onEvent: (ParsedEvent) throws -> Void,
        onProblem: (EventProblem) -> Void
    ) rethrows {
        var line = firstLine
        var lineCountedUpTo = 0
        while true {
            scanner.skipWhitespace()
            if scanner.isAtEnd { return }
            line += countNewlines(in: scanner.bytes, from: lineCountedUpTo, to: scanner.index)
            lineCountedUpTo = scanner.index
            let position = EventProblem.Position.line(line)
            let result: EventValidator.Result
            do {
                result = try validator.validateObject(&scanner)
            } catch {
                onProblem(EventProblem(position: position, reason: error.message + lineAndColumn(error.offset, in: scanner.bytes, firstLine: firstLine)))
                return
            }
            let problems = problems(of: result)
            if problems.isEmpty {
                try onEvent(
                    ParsedEvent(bytes: UnsafeBufferPointer(rebasing: scanner.bytes[result.range]), hasEventIdField: result.hasEventIdField, position: position))
            } else {
                onProblem(EventProblem(position: position, reason: problems.joined(separator: "; ")))
            }
        }
    }

    private func lineAndColumn(_ offset: Int, in document: UnsafeBufferPointer<UInt8>, firstLine: Int = 1) -> String {
        let clamped = min(offset, document.count)
        var line = firstLine
        var lineStart = 0
        for index in 0..<clamped where document[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return " (at line \(line), column \(clamped - lineStart + 1))"
    }

    private func countNewlines(in bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int {
        var count = 0
        for index in from..<to where bytes[index] == 0x0A { count += 1 }
        return count
    }
}

extension EventParser {
    /// Validates one event given on its own.
    func parseSingle(_ bytes: UnsafeBufferPointer<UInt8>, position: EventProblem.Position) -> Result<EventValidator.Result, EventProblem> {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        do {
            let result = try validator.validateObject(&scanner)
            scanner.skipWhitespace()
            if !scanner.isAtEnd { return .failure(EventProblem(position: position, reason: "unexpected text after the event's closing '}'")) }
            let problems = problems(of: result)
            return problems.isEmpty ? .success(result) : .failure(EventProblem(position: position, reason: problems.joined(separator: "; ")))
        } catch {
            return .failure(EventProblem(position: position, reason: error.message))
        }
    }
}

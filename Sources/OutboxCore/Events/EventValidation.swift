/// Event validation, for every store: each event's text is checked against
/// the contract (the four required fields, their types, a real date) and
/// kept exactly as given.
package enum EventValidation {
    /// Validates events given as JSON texts, all or none; throws
    /// `OutboxError` (`.invalidInput`) listing every invalid one, with its
    /// position (counting from 1) and reason. Runs on the caller's task, so
    /// a store's write only inserts.
    package static func prepare(_ jsonEvents: [String], eventIdField: String?, maxEventBytes: Int = EventSizeLimit.default) throws -> [PreparedEvent] {
        if jsonEvents.isEmpty {
            throw OutboxError(.invalidInput, "no events to append", problems: [EventProblem(position: .input, reason: "the input holds no events")])
        }
        let parser = EventParser(eventIdField: eventIdField, maxEventBytes: maxEventBytes)
        var problems: [EventProblem] = []
        var prepared: [PreparedEvent] = []
        prepared.reserveCapacity(jsonEvents.count)
        for (index, json) in jsonEvents.enumerated() {
            var text = json
            let outcome = text.withUTF8 { parser.parseSingle($0, position: .element(index + 1)) }
            switch outcome {
            case .success(let event): prepared.append(PreparedEvent(text: text, range: event.range, hasEventIdField: event.hasEventIdField))
            case .failure(let problem): problems.append(problem)
            }
        }
        if !problems.isEmpty {
            throw OutboxError.invalidEvents(problems, total: problems.count)
        }
        return prepared
    }
}

/// Typed events skip the JSON parse when their fields make them valid by
/// construction: the text `jsonText` writes is then known to pass the
/// validator, so parsing it back on the caller's task would only say so
/// again.
extension UsageEvent {
    /// The event, prepared for insertion without parsing, when every rule
    /// the validator checks is already certain from the fields; nil when
    /// any might fail, so the caller validates the text the usual way and
    /// reports exactly the errors it always does.
    func preparedWithoutParsing(eventIdField: String?) -> PreparedEvent? {
        guard !customerId.isEmpty, !usageIdentifier.isEmpty, quantity.isFinite,
            fields.values.allSatisfy(\.isScalarKnownValid)
        else { return nil }
        var date = usageDate
        guard date.withUTF8({ UsageDateFormat.problem(in: $0) }) == nil else { return nil }
        let text = jsonText
        // jsonText writes the four required keys, then the other fields (a
        // dictionary: no key twice), skipping any named like a required one.
        let hasEventIdField = eventIdField.map { RequiredField(name: $0) != nil || fields[$0] != nil } ?? false
        return PreparedEvent(text: text, range: 0..<text.utf8.count, hasEventIdField: hasEventIdField)
    }
}

extension JSONValue {
    /// A scalar that `write(to:)` renders as valid JSON. Containers and raw
    /// text are left to the validator (depth limits, text given by the app).
    var isScalarKnownValid: Bool {
        switch self {
        case .string, .integer, .bool, .null: true
        case .number(let value): value.isFinite
        case .array, .object, .rawJSON: false
        }
    }
}

extension EventValidation {
    /// Prepares typed events: without parsing when each is valid by
    /// construction, else through the validator like JSON text, so errors
    /// and positions are the same either way.
    public static func prepare(_ events: [UsageEvent], eventIdField: String?, maxEventBytes: Int = EventSizeLimit.default) throws -> [PreparedEvent] {
        var prepared: [PreparedEvent] = []
        prepared.reserveCapacity(events.count)
        for (index, event) in events.enumerated() {
            guard let ready = event.preparedWithoutParsing(eventIdField: eventIdField),
                EventSizeLimit.problem(bytes: ready.range.count, hasEventIdField: ready.hasIdField, eventIdField: eventIdField, limit: maxEventBytes) == nil
            else {
                // Reuses the texts already written; the validator sees them all.
                let texts = prepared.map(\.text) + events[index...].map(\.jsonText)
                return try prepare(texts, eventIdField: eventIdField, maxEventBytes: maxEventBytes)
            }
            prepared.append(ready)
        }
        if prepared.isEmpty { return try prepare([String](), eventIdField: eventIdField, maxEventBytes: maxEventBytes) }
        return prepared
    }
}

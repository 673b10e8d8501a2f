/// The text a store keeps for an event: as given, or, with an event id
/// field set and the event lacking it, with `"<field>":"<id>",` spliced in
/// after its opening brace. Every store splices through here.
package enum EventBody {
    /// `{"<field>":"`, the start of a spliced body.
    package static func fieldPrefix(_ eventIdField: String) -> [UInt8] {
        Array("{\"\(eventIdField)\":\"".utf8)
    }

    /// Calls `body` with the bytes to store for `event`: the event itself,
    /// or, when `fieldPrefix` is given and the event lacks the field, the
    /// spliced text, built in `scratch` (reused across calls, so a bulk
    /// append allocates nothing per event).
    package static func withStoredBytes<R>(
        _ event: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, fieldPrefix: [UInt8]?,
        idText: UnsafeRawBufferPointer, scratch: inout [UInt8],
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        guard let fieldPrefix, !hasEventIdField else { return try body(UnsafeRawBufferPointer(event)) }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: fieldPrefix)
        scratch.append(contentsOf: idText)
        scratch.append(contentsOf: "\",".utf8)
        scratch.append(contentsOf: event.dropFirst())
        return try scratch.withUnsafeBytes(body)
    }

    /// The stored text as a String, for stores that bind text.
    package static func stored(_ event: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, eventIdField: String?, id: EventID) -> String {
        var scratch: [UInt8] = []
        var idText = id.value
        return idText.withUTF8 { idBytes in
            withStoredBytes(
                event, hasEventIdField: hasEventIdField, fieldPrefix: eventIdField.map(fieldPrefix), idText: UnsafeRawBufferPointer(idBytes),
                scratch: &scratch
            ) { String(decoding: $0, as: UTF8.self) }
        }
    }
}

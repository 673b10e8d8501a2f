import Synchronization

/// The text a store keeps for an event.
public enum EventBody {
    /// The event's text as given; or, when `eventIdField` is set and the
    /// event lacks it, the text with `"<field>":"<id>",` after its opening brace.
    public static func stored(_ event: UnsafeBufferPointer<UInt8>, hasEventIdField: Bool, eventIdField: String?, id: EventID) -> String {
        guard let eventIdField, !hasEventIdField else { return String(decoding: event, as: UTF8.self) }
        var text = "{\"" + eventIdField + "\":\"" + id.value + "\","
        text += String(decoding: event.dropFirst(), as: UTF8.self)
        return text
    }
}

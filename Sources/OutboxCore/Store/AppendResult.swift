/// What an append did. Appends are idempotent by id: with an event-id field
/// configured, an event whose own id the meter already holds (appended
/// before and not yet removed by retention, or earlier in the same input)
/// is not appended again, and is no error.
public struct AppendResult: Sendable, Equatable {
    /// One per input event, in input order: the new event's id, or, for a
    /// duplicate, the id of the event the meter already holds.
    public var ids: [EventID]
    /// Positions (from 0) of the input events that were duplicates.
    public var duplicatePositions: [Int]

    public init(ids: [EventID], duplicatePositions: [Int]) {
        self.ids = ids
        self.duplicatePositions = duplicatePositions
    }

    public var appended: Int { ids.count - duplicatePositions.count }
    public var duplicates: Int { duplicatePositions.count }
}

/// Why one event of an input was rejected, and where it was.
public struct EventProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Position: Sendable, Equatable {
        /// NDJSON line number, counting from 1.
        case line(Int)
        /// Index in a JSON array (or in the list passed to the library), counting from 1.
        case element(Int)
        /// The input as a whole (empty input, a stray value after an array, ...).
        case input
    }

    public let position: Position
    public let reason: String

    public init(position: Position, reason: String) {
        self.position = position
        self.reason = reason
    }

    public var description: String {
        switch position {
        case .line(let line): "line \(line): \(reason)"
        case .element(let index): "event \(index): \(reason)"
        case .input: reason
        }
    }
}

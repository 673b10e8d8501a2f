/// A dead letter named by the start of its event's id, as an operator
/// types it: an id as a whole always names its dead letter; a prefix of at
/// least `minimumLength` characters names the one dead letter whose id
/// starts with it, and names none when several do. Pure: the store finds
/// the candidates, this decides.
public enum DeadLetterIDPrefix {
    /// Characters a prefix needs, so that a slip of the keyboard cannot
    /// pick a dead letter to retry or purge.
    public static let minimumLength = 6
    /// Candidates named when a prefix is ambiguous.
    public static let candidatesShown = 5

    public enum Resolution: Sendable, Equatable {
        /// The id the argument names (itself, or the one id it begins).
        case id(String)
        /// Several ids begin with it: up to `candidatesShown` of them, and
        /// whether there are more.
        case ambiguous([String], more: Bool)
        /// No dead letter: the argument is no id, and no prefix of one (or
        /// too short to be taken as one).
        case unknown(tooShort: Bool)
    }

    /// How `argument` resolves among `candidates`, the ids that begin with
    /// it (in any order; at most `candidatesShown + 1` are needed).
    public static func resolve(_ argument: String, candidates: [String]) -> Resolution {
        if candidates.contains(argument) { return .id(argument) }
        // One id may be in two meters: it counts once.
        let starting = Array(Set(candidates.filter { $0.hasPrefix(argument) }))
        guard argument.count >= minimumLength else { return .unknown(tooShort: true) }
        switch starting.count {
        case 0: return .unknown(tooShort: false)
        case 1: return .id(starting[0])
        default: return .ambiguous(Array(starting.sorted().prefix(candidatesShown)), more: starting.count > candidatesShown)
        }
    }
}

/// Resolving a dead-letter selection's explicit ids, the same for every
/// store: every id must name a dead letter (of the selected meter, when one
/// is given), else nothing changes and the error names the unknown ids.
public struct DeadLetterLookup: Sendable {
    public let selection: DeadLetterSelection
    /// The ids found, with the row and meter each names.
    private var found: [String: (row: Int64, meter: String)] = [:]

    public init(_ selection: DeadLetterSelection) {
        self.selection = selection
    }

    /// The ids to look up (each once).
    public var wantedIDs: [String] { Array(Set(selection.ids ?? [])).sorted() }

    /// A dead letter the store found for one of the ids.
    public mutating func found(id: String, row: Int64, meter: String) {
        found[id] = (row, meter)
    }

    /// The rows to change, by meter; throws `.unknownIDs` naming every id
    /// that names no dead letter of the selection.
    public func rowsByMeter() throws -> [String: [Int64]] {
        var rows: [String: [Int64]] = [:]
        var unknown: [String] = []
        for id in wantedIDs {
            if let hit = found[id], selection.meter == nil || selection.meter == hit.meter {
                rows[hit.meter, default: []].append(hit.row)
            } else {
                unknown.append(id)
            }
        }
        if !unknown.isEmpty { throw OutboxError.unknownDeadLetters(unknown, meter: selection.meter) }
        return rows
    }
}

extension OutboxError {
    static func unknownDeadLetters(_ ids: [String], meter: String?) -> OutboxError {
        let listed = ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? " and \(ids.count - 5) more" : "")
        return OutboxError(
            .unknownIDs, "no dead letter with id \(listed)\(meter.map { " in meter \($0)" } ?? ""); nothing was changed",
            hint: "list the dead letters to find their ids")
    }
}

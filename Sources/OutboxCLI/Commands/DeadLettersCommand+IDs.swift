import ArgumentParser
import UsageOutbox

extension DeadLettersCommand {
    /// The ids `arguments` name: each a whole id, or a unique prefix of one
    /// (`DeadLetterIDPrefix`), among the dead letters of `meter` when given.
    /// An ambiguous prefix is a usage error (64) naming candidates; a short
    /// argument that is no id is unknown (65), saying why; any other
    /// argument that names nothing is passed on as it is, for the command
    /// to report as unknown as it always has.
    static func resolve(_ arguments: [String], meter: String?, in outbox: any OperatedStore, changing: Bool = true) async throws -> [String] {
        var resolved: [String] = []
        var ambiguous: [(String, [String], Bool)] = []
        var tooShort: [String] = []
        for argument in arguments {
            let candidates = try await outbox.deadLetterIDs(startingWith: argument, meter: meter, limit: DeadLetterIDPrefix.candidatesShown + 1)
            switch DeadLetterIDPrefix.resolve(argument, candidates: candidates) {
            case .id(let id) where id != argument && changing:
                // A change says which dead letter each prefix named.
                Stderr.print("dead-letters: \(argument) is \(id)")
                resolved.append(id)
            case .id(let id): resolved.append(id)
            case .ambiguous(let ids, let more): ambiguous.append((argument, ids, more))
            case .unknown(let short):
                if short { tooShort.append(argument) }
                resolved.append(argument)
            }
        }
        if let (prefix, ids, more) = ambiguous.first {
            throw CommandFailure(
                "id prefix \(prefix) matches several dead letters\(meter.map { " of meter \($0)" } ?? ""): \(ids.joined(separator: ", "))\(more ? ", and more" : "")"
                    + (ambiguous.count > 1 ? " (and \(ambiguous.count - 1) more prefixes are ambiguous)" : ""),
                hint: "give more characters of the id (`outbox dead-letters list` shows them whole)\(changing ? "; nothing was changed" : "")",
                exitCode: Exit.usage)
        }
        if !tooShort.isEmpty {
            throw CommandFailure(
                "no dead letter with id \(tooShort.prefix(5).joined(separator: ", "))\(meter.map { " in meter \($0)" } ?? "")\(changing ? "; nothing was changed" : "")",
                hint: "an id may be shortened to a prefix of at least \(DeadLetterIDPrefix.minimumLength) characters; `outbox dead-letters list` shows them",
                exitCode: Exit.invalidData)
        }
        return resolved
    }
}

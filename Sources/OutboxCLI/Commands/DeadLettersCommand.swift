import ArgumentParser
import Foundation
import UsageOutbox

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Inspect, re-drive and purge the events Zuora rejected.",
        discussion: """
            A dead letter is an event Zuora rejected on its own (HTTP 400, or a 2xx saying \
            "success": false, or too large alone), or one that ran out of --max-attempts. \
            Fix the cause (the meter's definition, the event), then `retry` it; or `export` \
            them, fix the events by hand, append them again and `purge` the originals. \
            Start with `list --group-by reason`; `show` prints each answer the event got. \
            Ids may be shortened to a unique prefix of at least 6 characters.
            """,
        subcommands: [List.self, Show.self, Retry.self, Purge.self, Export.self],
        defaultSubcommand: List.self
    )

    static func json(_ letter: DeadLetter, full: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(letter.id), "meter": .string(letter.meter), "event": .rawJSON(letter.event),
            "status": letter.status.map { .integer(Int64($0)) } ?? .null, "reason": .string(letter.reason),
            "attempts": .integer(Int64(letter.attempts)), "dead_at": .string(RFC3339.format(unixMilliseconds: letter.deadAt)),
            "request_id": letter.requestID.map { .string($0) } ?? .null,
        ]
        if full {
            object["process_id"] = processID(in: letter.responseBody).map { .string($0) } ?? .null
            object["response_body"] = letter.responseBody.map { .string($0) } ?? .null
            object["track_id"] = letter.trackID.map { .string($0) } ?? .null
            object["created_at"] = .string(RFC3339.format(unixMilliseconds: letter.createdAt))
            object["updated_at"] = .string(RFC3339.format(unixMilliseconds: letter.updatedAt))
            object["history"] = .array(letter.history.map(json))
        }
        return .object(object)
    }

    /// One answer of an event's history.
    static func json(_ answer: EventAnswer) -> JSONValue {
        .object([
            "status": answer.status.map { .integer(Int64($0)) } ?? .null, "at": .string(RFC3339.format(unixMilliseconds: answer.at)),
            "request_id": answer.requestID.map { .string($0) } ?? .null, "reason": .string(answer.reason),
        ])
    }

    /// An event's history as text, one line per answer, oldest first.
    static func historyLines(_ history: [EventAnswer]) -> [String] {
        guard !history.isEmpty else { return ["history:       none recorded"] }
        let rows = history.map { answer in
            [RFC3339.format(unixMilliseconds: answer.at), answer.status.map(String.init) ?? "-", answer.requestID ?? "-", answer.reason]
        }
        return ["history:       \(history.count) answer\(history.count == 1 ? "" : "s"), oldest first (the last \(AnswerHistory.limit) are kept)"]
            + Table.render(header: ["AT", "STATUS", "REQUEST ID", "REASON"], rows: rows).map { "  " + $0 }
    }

    /// Zuora's `processId` in an error answer, when it has one (support asks
    /// for it beside the request id).
    static func processID(in body: String?) -> String? {
        guard let body, let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
        return (object["processId"] as? String).flatMap { $0.isEmpty ? nil : $0 }
    }

    static func customer(of event: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any] else { return "?" }
        return (object["CustomerId"] as? String) ?? "?"
    }

    static func cutoff(_ olderThan: DurationArgument?) -> Int64? {
        olderThan.map { WallClock.nowMilliseconds() - Int64($0.seconds * 1000) }
    }
}

import Foundation

/// Matches audit trail entries to the events the outbox sent: by id first
/// (the event id field inside the entry's payload, whatever else the meter
/// renamed, equal to the stored event's id or its event id field), else by
/// content (the payload's JSON equal to the stored event's: the same keys
/// and values), else not at all: nothing is guessed. The entry's `eventId`
/// is Zuora's own id and is never compared. Pure; each stored event matches
/// at most one entry.
enum LateRejectionMatcher {
    enum Outcome: Sendable, Equatable {
        /// A sent event: to be moved to dead.
        case lateRejected(StoredEvent)
        /// Its event is a dead letter already: counted, not changed.
        case alreadyDead(StoredEvent)
        case unmatched
    }

    /// The id an entry names: the payload's event id field, when it kept it.
    static func entryID(_ entry: AuditEntry, eventIdField: String?) -> String? {
        guard let eventIdField, let payload = object(entry.payload), let id = payload[eventIdField] as? String, !id.isEmpty else { return nil }
        return id
    }

    static func match(_ entries: [AuditEntry], candidates: [StoredEvent], eventIdField: String?) -> [Outcome] {
        // Sent before dead, then in insertion order: a late rejection is
        // about an event that went out, and ties resolve the same every run.
        let ordered = candidates.sorted { ($0.state == .sent ? 0 : 1, $0.rowID) < ($1.state == .sent ? 0 : 1, $1.rowID) }
        var byID: [String: [Int]] = [:]
        var trees: [JSONTree?] = []
        for (index, event) in ordered.enumerated() {
            let body = object(event.body)
            trees.append(JSONTree.parse(event.body))
            byID[event.eventID, default: []].append(index)
            if let eventIdField, let fieldID = body?[eventIdField] as? String, fieldID != event.eventID {
                byID[fieldID, default: []].append(index)
            }
        }
        var taken = Set<Int>()
        return entries.map { entry in
            var found: Int?
            if let id = entryID(entry, eventIdField: eventIdField) {
                found = byID[id]?.first { !taken.contains($0) }
            }
            if found == nil, let payload = JSONTree.parse(entry.payload) {
                found = ordered.indices.first { !taken.contains($0) && trees[$0] == payload }
            }
            guard let index = found else { return .unmatched }
            taken.insert(index)
            let event = ordered[index]
            return event.state == .sent ? .lateRejected(event) : .alreadyDead(event)
        }
    }

    /// What the store should look for: the entries' ids and customers.
    static func query(for entries: [AuditEntry], meter: String, eventIdField: String?) -> ReconcileQuery {
        var ids = Set<String>()
        var customers = Set<String>()
        for entry in entries {
            if let id = entryID(entry, eventIdField: eventIdField) { ids.insert(id) }
            if let customer = object(entry.payload)?["CustomerId"] as? String { customers.insert(customer) }
        }
        return ReconcileQuery(meter: meter, eventIDs: ids.sorted(), eventIdField: eventIdField, customers: customers.sorted())
    }

    static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}

extension JSONTree {
    static func parse(_ text: String) -> JSONTree? {
        try? JSONDecoder().decode(JSONTree.self, from: Data(text.utf8))
    }
}

/// `Zuora-Track-Id` values: at most 64 US-ASCII characters, none of
/// `: ; " '` (and no controls or spaces, which would break the header).
/// Derived from the batch, so support can find a request from the events in it.
enum TrackID {
    static let maximumLength = 64

    /// `<prefix>-<first event id, compact>-<count>`, sanitized.
    static func forBatch(prefix: String, firstEventID: String, count: Int) -> String {
        let compactID = firstEventID.filter { $0 != "-" }
        return sanitize("\(prefix)-\(compactID)-\(count)")
    }

    /// Drops every character Zuora does not allow, then truncates to 64.
    static func sanitize(_ value: String) -> String {
        var result = ""
        for scalar in value.unicodeScalars where isAllowed(scalar) {
            result.unicodeScalars.append(scalar)
            if result.utf8.count == maximumLength { break }
        }
        return result
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x20 && scalar.value < 0x7F && scalar != ":" && scalar != ";" && scalar != "\"" && scalar != "'"
    }
}

import OutboxCore
import UsageOutbox

/// The CLI's word for what to do about a library error: the libraries name
/// no flags (an app that embeds them has none), so the CLI maps an error's
/// code to a hint that names its own flags, and keeps the library's hint
/// where it says more.
enum ErrorHints {
    static func hint(for error: OutboxError) -> String? {
        switch error.code {
        case .invalidConfiguration where error.message.contains("path"):
            "pass --db PATH or set OUTBOX_DB"
        case .notAnOutbox:
            "point --db (or OUTBOX_DB) at an outbox file or a new path"
        case .cannotOpen where error.underlying is SQLiteError:
            "check that the directory exists and is writable, or pass another --db"
        case .corrupt where error.underlying.map { ($0 as? SQLiteError)?.isNotADatabase ?? false } ?? false:
            "check --db / OUTBOX_DB: it must name an outbox file or a path for a new one"
        case .invalidMeterName:
            "pass the meter's global id from Zuora, e.g. --meter api-calls"
        case .spoolUnavailable:
            "free space in the temporary directory (TMPDIR), or pass the input with --file (a regular file needs no spool)"
        case .unknownIDs:
            "list them with `outbox dead-letters list`"
        case .unknownMeter:
            "see the meters with `outbox meters list`"
        default:
            error.hint
        }
    }
}

/// The id generator of one database connection: seeded from the system's
/// random source once per millisecond, not once per append. Used only on the
/// connection's queue.
final class IDGenerator: @unchecked Sendable {
    var generator = UUIDv7Generator()
}

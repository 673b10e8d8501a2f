import Foundation

@testable import OutboxCore
@testable import UsageOutbox

/// A fresh directory under /tmp, removed when the test's closure returns.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async rethrows -> R {
    let path = NSTemporaryDirectory() + "outbox-tests-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

func sampleEvent(_ customer: String = "C-1", quantity: Double = 1) -> UsageEvent {
    UsageEvent(customerId: customer, usageIdentifier: "api-calls", usageDate: "2026-11-29T10:00:00Z", quantity: quantity)
}

func sampleJSON(_ customer: String = "C-1", quantity: String = "1") -> String {
    #"{"CustomerId":"\#(customer)","UsageIdentifier":"u","UsageDate":"2026-11-29T10:00:00Z","Quantity":\#(quantity)}"#
}

/// Runs `body` with a read-only descriptor of a temporary file holding `input`.
func withInputFile<R>(_ input: [UInt8], _ body: (Int32) async throws -> R) async rethrows -> R {
    let path = NSTemporaryDirectory() + "outbox-input-" + UUID().uuidString
    _ = FileManager.default.createFile(atPath: path, contents: Data(input))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let fd = open(path, O_RDONLY)
    precondition(fd >= 0)
    defer { close(fd) }
    return try await body(fd)
}

/// Appends `input` through the streaming path, as `outbox append` does.
func appendStream(_ outbox: Outbox, _ input: [UInt8], meter: String = "m") async throws -> Int {
    try await withInputFile(input) { fd in try await outbox.appendStream(fileDescriptor: fd, meter: meter) }
}

/// Every stored body of a meter, in insertion order, straight from SQLite.
func storedBodies(_ path: String, meter: String = "m") throws -> [String] {
    let connection = try SQLiteConnection(path: path)
    let statement = try connection.prepare("SELECT CAST(body AS TEXT) FROM outbox_log WHERE meter = ?1 ORDER BY id")
    try statement.bind(meter, at: 1)
    var bodies: [String] = []
    while try statement.step() { bodies.append(statement.string(0)) }
    return bodies
}

func rowCount(_ path: String) throws -> Int {
    let connection = try SQLiteConnection(path: path)
    return Int(try connection.scalarInt("SELECT count(*) FROM outbox_log") ?? -1)
}

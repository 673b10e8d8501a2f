// libFuzzer target for the event parser and validator, built by scripts/fuzz
// from OutboxCore's Events sources with `swiftc -sanitize=fuzzer,address`.
// It must never crash, and what it accepts must hold up:
// - an accepted event re-validates the same when given alone (idempotent);
// - Foundation's JSON parser agrees it is an object with the four fields,
//   of the right types (the validator is the stricter of the two);
// - its own id (the idempotent append's key) is Foundation's string value
//   of `EventId`, or nil when that is not a string or number.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let parser = EventParser(eventIdField: "EventId")

    if case .success(let result) = parser.parseSingle(bytes, position: .input) {
        checkAccepted(UnsafeBufferPointer(rebasing: bytes[result.range]))
    }
    parser.parseDocument(
        bytes,
        onEvent: { event in
            checkAccepted(event.bytes)
        }, onProblem: { _ in })
    var lineStart = 0
    var lineNumber = 0
    for index in 0...size where index == size || bytes[index] == 0x0A {
        lineNumber += 1
        if case .event(let event) = parser.parseLine(UnsafeBufferPointer(rebasing: bytes[lineStart..<index]), number: lineNumber) {
            checkAccepted(event.bytes)
        }
        lineStart = index + 1
    }
    _ = JSONArrayElements.ranges(in: Array(bytes))
    return 0
}

private func checkAccepted(_ event: UnsafeBufferPointer<UInt8>) {
    guard UsageEventValidation.problem(in: event) == nil else {
        fatalError("accepted an event that does not re-validate alone: \(String(decoding: event, as: UTF8.self))")
    }
    guard let object = (try? JSONSerialization.jsonObject(with: Data(event))) as? [String: Any] else {
        fatalError("accepted an event Foundation cannot parse as an object: \(String(decoding: event, as: UTF8.self))")
    }
    guard let customer = object["CustomerId"] as? String, !customer.isEmpty,
        let identifier = object["UsageIdentifier"] as? String, !identifier.isEmpty,
        object["UsageDate"] is String, object["Quantity"] is NSNumber
    else {
        fatalError("accepted an event without the four fields: \(String(decoding: event, as: UTF8.self))")
    }
    let ownID = EventOwnID.value(in: event, field: Array("EventId".utf8))
    if let ownID, ownID.isEmpty || ownID.utf8.count > EventOwnID.maxBytes {
        fatalError("an own id out of bounds: \(ownID)")
    }
    if let text = object["EventId"] as? String, !text.isEmpty, text.utf8.count <= EventOwnID.maxBytes, !text.utf8.contains(0), ownID != text {
        fatalError("own id \(String(describing: ownID)) is not the event's EventId \(text)")
    }
}

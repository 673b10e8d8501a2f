/// The contract's rules for one event, for code outside this module (the
/// Zuora mock, fuzzing): nil when `bytes` is one valid event object.
package enum UsageEventValidation {
    package static func problem(in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        switch EventParser(eventIdField: nil).parseSingle(bytes, position: .input) {
        case .success: nil
        case .failure(let problem): problem.reason
        }
    }

    package static func problem(in bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBufferPointer { problem(in: $0) }
    }
}

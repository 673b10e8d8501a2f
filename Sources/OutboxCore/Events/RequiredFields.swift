/// Which of the four `RequiredField`s an object has carried so far.
struct RequiredFields {
    private var bits: UInt8 = 0

    mutating func insert(_ field: RequiredField) { bits |= Self.bit(field) }

    var missing: [RequiredField] {
        RequiredField.allCases.filter { bits & Self.bit($0) == 0 }
    }

    private static func bit(_ field: RequiredField) -> UInt8 {
        switch field {
        case .customerId: 1
        case .usageIdentifier: 2
        case .usageDate: 4
        case .quantity: 8
        }
    }
}

/// The four fields every Zuora usage event must carry.
enum RequiredField: CaseIterable {
    case customerId, usageIdentifier, usageDate, quantity

    var name: String {
        switch self {
        case .customerId: "CustomerId"
        case .usageIdentifier: "UsageIdentifier"
        case .usageDate: "UsageDate"
        case .quantity: "Quantity"
        }
    }

    init?(keyBytes: UnsafeBufferPointer<UInt8>) {
        // Compare by length first: nearly every key is rejected there.
        switch keyBytes.count {
        case 10 where ByteCompare.equal(keyBytes, RequiredField.customerIdBytes): self = .customerId
        case 15 where ByteCompare.equal(keyBytes, RequiredField.usageIdentifierBytes): self = .usageIdentifier
        case 9 where ByteCompare.equal(keyBytes, RequiredField.usageDateBytes): self = .usageDate
        case 8 where ByteCompare.equal(keyBytes, RequiredField.quantityBytes): self = .quantity
        default: return nil
        }
    }

    static let customerIdBytes = Array("CustomerId".utf8)
    static let usageIdentifierBytes = Array("UsageIdentifier".utf8)
    static let usageDateBytes = Array("UsageDate".utf8)
    static let quantityBytes = Array("Quantity".utf8)
}

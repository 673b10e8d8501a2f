/// Meter ids go into the request path, so they are held to a safe alphabet.
public enum MeterName {
    public static func validate(_ meter: String) throws {
        let allowed = meter.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: ":"):
                true
            default: false
            }
        }
        guard !meter.isEmpty, meter.utf8.count <= 255, allowed else {
            throw OutboxError(
                .invalidMeterName, "invalid meter \"\(meter.prefix(80))\": a meter id is 1 to 255 letters, digits, '-', '_', '.', '~' or ':'",
                hint: "use the meter's global id from Zuora, such as api-calls")
        }
    }
}

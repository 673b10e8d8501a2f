import CompressNIO
import NIOCore
import OutboxCore

/// A usage request body: the stored event texts joined into a JSON array,
/// with no decode and re-encode, then gzipped when asked.
struct RequestBody: Equatable {
    let buffer: ByteBuffer
    /// Size of the JSON before compression (what `maxBatchBytes` bounds).
    let jsonBytes: Int

    static func make(_ events: [ClaimedEvent], gzip: Bool) throws -> RequestBody {
        var json = ByteBuffer()
        json.reserveCapacity(events.reduce(2) { $0 + $1.body.count + 1 })
        json.writeInteger(UInt8(ascii: "["))
        for (index, event) in events.enumerated() {
            if index > 0 { json.writeInteger(UInt8(ascii: ",")) }
            json.writeBytes(event.body)
        }
        json.writeInteger(UInt8(ascii: "]"))
        let size = json.readableBytes
        guard gzip else { return RequestBody(buffer: json, jsonBytes: size) }
        // Level 1: JSON shrinks several-fold even at the fastest level, and
        // the drain should not be bound by deflate.
        let compressed = try json.compress(with: .gzip(configuration: .init(compressionLevel: .fastestCompression)))
        return RequestBody(buffer: compressed, jsonBytes: size)
    }
}

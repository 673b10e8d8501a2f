import Foundation
import Testing

@testable import OutboxPowerCut

/// The disk model behind scripts/power-cut-test: what a cut keeps and
/// loses, checked without SQLite.
struct DiskModelTests {
    static let page = Data(repeating: 0xAB, count: DiskModel.pageSize)

    static func model(_ operations: [OperationLog.Operation]) -> DiskModel {
        var model = DiskModel()
        for operation in operations { model.apply(operation) }
        return model
    }

    @Test func syncedWritesSurviveEveryCut() {
        let model = Self.model([.open(file: 1, name: "/d/f"), .write(file: 1, offset: 0, bytes: Self.page), .sync(file: 1)])
        var random = SplitMix64(seed: 1)
        for keep in [0.0, 0.5, 1.0] {
            #expect(model.image(inFlight: nil, keepProbability: keep, random: &random)["/d/f"] == Self.page)
        }
    }

    @Test func unsyncedPagesAreLostOrKeptWhole() {
        let second = Data(repeating: 0xCD, count: DiskModel.pageSize)
        let model = Self.model([
            .open(file: 1, name: "/d/f"), .write(file: 1, offset: 0, bytes: Self.page), .sync(file: 1),
            .write(file: 1, offset: 0, bytes: second),
        ])
        var random = SplitMix64(seed: 2)
        #expect(model.image(inFlight: nil, keepProbability: 0, random: &random)["/d/f"] == Self.page)
        #expect(model.image(inFlight: nil, keepProbability: 1, random: &random)["/d/f"] == second)
    }

    /// The kernel may write a page back between two writes to it: any
    /// version since the last sync can be the one on the disk.
    @Test func aPageMayLandAsAnyOfItsVersions() {
        let versions = (1...3).map { Data(repeating: UInt8($0), count: DiskModel.pageSize) }
        let model = Self.model([.open(file: 1, name: "/d/f")] + versions.map { .write(file: 1, offset: 0, bytes: $0) })
        var random = SplitMix64(seed: 5)
        let seen = Set((0..<300).compactMap { _ in model.image(inFlight: nil, keepProbability: 1, random: &random)["/d/f"]?.first })
        #expect(seen == [1, 2, 3], "\(seen.sorted())")
    }

    @Test func theWriteInFlightLandsAsAPrefixOfWholeSectors() {
        let model = Self.model([.open(file: 1, name: "/d/f"), .write(file: 1, offset: 0, bytes: Data(count: DiskModel.pageSize)), .sync(file: 1)])
        let inFlight = OperationLog.Operation.write(file: 1, offset: 0, bytes: Self.page)
        var random = SplitMix64(seed: 3)
        var prefixes = Set<Int>()
        for _ in 0..<200 {
            let bytes = model.image(inFlight: inFlight, keepProbability: 1, random: &random)["/d/f"]!
            let landed = bytes.prefix { $0 == 0xAB }.count
            #expect(landed % DiskModel.sectorSize == 0 && bytes.dropFirst(landed).allSatisfy { $0 == 0 })
            prefixes.insert(landed)
        }
        #expect(prefixes.count > 4, "a torn write lands in many ways: \(prefixes.sorted())")
    }

    @Test func anUnlinkMayBeUndoneUntilTheNextSync() {
        let opened: [OperationLog.Operation] = [
            .open(file: 1, name: "/d/journal"), .write(file: 1, offset: 0, bytes: Self.page), .sync(file: 1),
            .delete(name: "/d/journal", durable: false),
        ]
        var random = SplitMix64(seed: 4)
        let before = Self.model(opened)
        let survived = (0..<50).filter { _ in before.image(inFlight: nil, keepProbability: 1, random: &random)["/d/journal"] != nil }
        #expect(!survived.isEmpty && survived.count < 50)
        let after = Self.model(opened + [.open(file: 2, name: "/d/wal"), .sync(file: 2)])
        #expect((0..<50).allSatisfy { _ in after.image(inFlight: nil, keepProbability: 1, random: &random)["/d/journal"] == nil })
    }
}

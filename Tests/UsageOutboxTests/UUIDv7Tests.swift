import Testing

@testable import OutboxCore
@testable import UsageOutbox

struct UUIDv7Tests {
    @Test func idsAreVersion7SortedAndUnique() {
        var generator = UUIDv7Generator()
        var ids: [String] = []
        for index in 0..<10_000 {
            ids.append(generator.next(millisecond: 1_764_410_400_000 + UInt64(index / 1000)))
        }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        for id in ids.prefix(10) {
            let characters = Array(id)
            #expect(characters.count == 36)
            #expect(characters[14] == "7")
            #expect("89ab".contains(characters[19]))
        }
        #expect(ids[0].hasPrefix("019acf0e-1d00"))  // 48-bit millisecond timestamp in front
    }

    @Test func clockGoingBackwardsStillGivesIncreasingIds() {
        var generator = UUIDv7Generator()
        let first = generator.next(millisecond: 2_000_000)
        let second = generator.next(millisecond: 1_000_000)
        #expect(second > first)
    }
}

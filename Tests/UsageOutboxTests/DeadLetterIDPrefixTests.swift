import Testing

@testable import OutboxCore

/// Which dead letter an operator's id or prefix names, as a table.
struct DeadLetterIDPrefixTests {
    static let ids = ["01a24b56-69eb-700e-85d5-f52d7249dd9e", "01a24b56-69eb-7aaa-85d5-000000000001", "01a24b99-0000-7000-8000-000000000002"]

    static let cases: [(String, [String], DeadLetterIDPrefix.Resolution)] = [
        ("a whole id", [ids[0]], .id(ids[0])),
        ("a unique prefix", ["01a24b9"], .id(ids[2])),
        ("the minimum length", ["01a24b"], .ambiguous(ids, more: false)),
        ("a prefix of two", ["01a24b56-69eb"], .ambiguous([ids[0], ids[1]], more: false)),
        ("too short, though unique", ["01a2"], .unknown(tooShort: true)),
        ("nothing", ["ffffffff"], .unknown(tooShort: false)),
        ("empty", [""], .unknown(tooShort: true)),
    ]

    @Test(arguments: cases.indices)
    func resolves(index: Int) {
        let (name, arguments, expected) = Self.cases[index]
        let argument = arguments[0]
        let candidates = Self.ids.filter { $0.hasPrefix(argument) }
        #expect(DeadLetterIDPrefix.resolve(argument, candidates: candidates) == expected, "\(name)")
    }

    /// An id that is also the prefix of others (own ids can be) names itself.
    @Test func aWholeIdWinsOverTheIdsItBegins() {
        #expect(DeadLetterIDPrefix.resolve("order-1", candidates: ["order-1", "order-10", "order-11"]) == .id("order-1"))
        #expect(DeadLetterIDPrefix.resolve("ab", candidates: ["ab", "abc"]) == .id("ab"), "a whole id needs no minimum")
    }

    @Test func namesAFewCandidatesAndSaysThereAreMore() {
        let many = (0..<9).map { "order-\($0)" }
        #expect(DeadLetterIDPrefix.resolve("order-", candidates: many) == .ambiguous(Array(many.prefix(5)), more: true))
    }
}

import Testing

@testable import OutboxCore

/// One conversion of `Duration` into the stores' and clients' units, which
/// never traps.
struct DurationUnitsTests {
    @Test func wholeUnitsRoundTowardZero() {
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.microseconds(1999).milliseconds == 1)
        #expect(Duration.microseconds(-1999).milliseconds == -1)
        #expect(Duration.seconds(2).nanoseconds == 2_000_000_000)
        #expect(Duration.milliseconds(250).seconds == 0.25)
    }

    @Test func hugeDurationsSaturate() {
        let huge = Duration.seconds(Int64.max / 10)
        #expect(huge.milliseconds == .max)
        #expect(huge.nanoseconds == .max)
        #expect((Duration.zero - huge).nanoseconds == .min)
    }
}

/// What a streamed append did: events appended, and duplicates skipped.
public struct AppendCounts: Sendable, Equatable {
    public var appended: Int
    public var duplicates: Int

    public init(appended: Int, duplicates: Int) {
        self.appended = appended
        self.duplicates = duplicates
    }
}

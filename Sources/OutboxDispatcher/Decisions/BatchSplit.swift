/// Splitting a batch for bisection (400) or size (413).
enum BatchSplit {
    /// Two halves, the first taking the extra element of an odd count.
    static func halves<T>(_ items: [T]) -> ([T], [T]) {
        precondition(items.count > 1, "a single event cannot be split")
        let middle = (items.count + 1) / 2
        return (Array(items[..<middle]), Array(items[middle...]))
    }
}

/// What a 2xx body says about `success`, read to its end.
enum SuccessFinding: Equatable, Sendable {
    /// Empty, or a JSON object whose `success` is absent or not `false`.
    case notFalse
    /// A top-level `"success": false`: Zuora rejected the batch.
    case explicitlyFalse
    /// Not a complete JSON document (cut off, or not JSON at all): the
    /// dispatcher cannot tell what Zuora decided, so it is not a yes.
    case unreadable(String)
}

import ArgumentParser

/// A switch given a value, like `--idempotency-keys off`: `on` or `off`
/// (also `true`/`false`, `yes`/`no`, `1`/`0`, as in the environment).
struct OnOffArgument: ExpressibleByArgument, Sendable {
    let value: Bool

    init?(argument: String) {
        switch argument.lowercased() {
        case "on", "true", "yes", "1": value = true
        case "off", "false", "no", "0": value = false
        default: return nil
        }
    }

    static var allValueStrings: [String] { ["on", "off"] }
}

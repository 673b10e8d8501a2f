// libFuzzer target for every parser of what Zuora (or whatever answers at
// the base URL) sends back, built by scripts/fuzz from OutboxDispatcher's
// pure sources with `swiftc -sanitize=fuzzer,address`. None may trap or
// hang, and what they return must stay within bounds:
// - a wait (Retry-After, ratelimit-reset, an HTTP date) is 0 to 3600 s;
// - a token's lifetime is 0 to 24 h;
// - the usage answer scanner, the audit page parser and the error-category
//   reader never crash, however the body is cut into chunks.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZuoraAnswers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)

    for now in [0.0, 1_700_000_000, 1e12] {
        if let wait = RetryAfter.seconds(retryAfter: text, rateLimitReset: nil, nowUnixSeconds: now) { checkWait(wait, text) }
        if let wait = RetryAfter.seconds(retryAfter: nil, rateLimitReset: text, nowUnixSeconds: now) { checkWait(wait, text) }
    }
    _ = HTTPDate.parse(text)

    if let token = TokenAnswer.parse(bytes) {
        guard token.lifetimeSeconds >= 0 && token.lifetimeSeconds <= TokenAnswer.longestLifetimeSeconds else {
            fatalError("a token lifetime out of bounds: \(token.lifetimeSeconds)")
        }
        _ = token.useFor
    }

    var whole = SuccessScanner()
    whole.feed(bytes)
    let once = whole.finish()
    var chunked = SuccessScanner()
    var index = 0
    var step = 1
    while index < bytes.count {
        chunked.feed(bytes[index..<min(bytes.count, index + step)])
        index += step
        step = step % 7 + 1
    }
    guard chunked.finish() == once else { fatalError("the success scanner's answer depends on how the body was chunked") }

    _ = try? AuditTrailPage.parse(bytes)
    // An answer's error categories: any body, any codes, never a crash.
    _ = ZuoraErrorCategory.verdict(body: Array(bytes))
    return 0
}

private func checkWait(_ wait: Double, _ input: String) {
    guard wait.isFinite, wait >= 0, wait <= RetryAfter.maximumSeconds else { fatalError("a wait out of bounds: \(wait) from \(input)") }
}

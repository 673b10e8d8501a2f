import Foundation
import Synchronization

/// Shows how long work is going: on a terminal a redrawn bar with rate and
/// ETA, otherwise a plain line every few seconds (for logs). Silent for work
/// that finishes within half a second.
final class ProgressDisplay: Sendable {
    private struct State {
        var lastDraw: Double = 0
        var drewOnTerminal = false
        var bytes = 0
        var count = 0
        var total: Int?
    }

    private let title: String
    private let unit: String
    private let totalBytes: Int?
    private let started = ProgressDisplay.now()
    private let state = Mutex(State())
    private let onTerminal = Stderr.isTerminal
    private let enabled: Bool

    /// `totalBytes` gives a percentage and ETA for byte-based progress;
    /// otherwise `update(count:total:)` may pass a total count.
    init(title: String, totalBytes: Int? = nil, unit: String, enabled: Bool = true) {
        self.title = title
        self.totalBytes = totalBytes
        self.unit = unit
        self.enabled = enabled
    }

    func update(bytes: Int = 0, count: Int, total: Int? = nil) {
        guard enabled else { return }
        let now = ProgressDisplay.now()
        let line: String? = state.withLock { state in
            state.bytes = bytes
            state.count = count
            state.total = total ?? state.total
            let interval = onTerminal ? 0.1 : 5.0
            guard now - started >= 0.5, now - state.lastDraw >= interval else { return nil }
            state.lastDraw = now
            state.drewOnTerminal = onTerminal
            return render(state, elapsed: now - started)
        }
        if let line { draw(line) }
    }

    func finish() {
        let drew = state.withLock { $0.drewOnTerminal }
        if drew {
            TerminalOutput.progressLineActive.store(false, ordering: .relaxed)
            TerminalOutput.writeRaw("\r\u{1B}[2K")
        }
    }

    private func render(_ state: State, elapsed: Double) -> String {
        let rate = Double(state.count) / max(elapsed, 0.001)
        var fraction: Double?
        if let totalBytes, totalBytes > 0 { fraction = Double(state.bytes) / Double(totalBytes) }
        if let total = state.total, total > 0 { fraction = Double(state.count) / Double(total) }
        var parts = ["\(title): \(Self.group(state.count)) \(unit)", "\(Self.group(Int(rate)))/s"]
        if let fraction {
            let clamped = min(max(fraction, 0), 1)
            let eta = clamped > 0 ? elapsed * (1 - clamped) / clamped : 0
            parts.insert("\(Int(clamped * 100))%", at: 1)
            parts.append("ETA \(Self.duration(eta))")
            if onTerminal {
                let width = 24
                let filled = Int(clamped * Double(width))
                parts.insert("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]", at: 1)
            }
        }
        return parts.joined(separator: "  ")
    }

    private func draw(_ line: String) {
        if onTerminal {
            TerminalOutput.progressLineActive.store(true, ordering: .relaxed)
            TerminalOutput.writeRaw("\r\u{1B}[2K\(line)")
        } else {
            TerminalOutput.writeLine(line)
        }
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func group(_ value: Int) -> String {
        let digits = String(value)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return result
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", total / 60 % 60))m"
    }
}

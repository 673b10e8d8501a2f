import Foundation
import Testing

/// `outbox-power-cut` itself: it finds the losses `--durability normal`
/// allows, so a harness gone blind breaks the build. (Its runs with the
/// default durability, which must lose nothing, are `.ci/run`'s
/// `scripts/power-cut-test --short`: too many fsyncs to share the machine
/// with the rest of the suite.)
@Suite(.serialized) struct HarnessCanFailTests {
    static let binary: String = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("OutboxPowerCut").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return ".build/debug/OutboxPowerCut"
    }()

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs the harness; returns its exit code and last line.
    static func run(_ arguments: [String]) throws -> (status: Int32, last: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--repository", repository.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        return (process.terminationStatus, lines.last.map(String.init) ?? "")
    }

    /// `power-cut-test: N cuts, A acknowledged, L lost, D damaged` → L.
    static func lost(_ line: String) -> Int? { figure(before: "lost,", in: line) }

    static func figure(before word: Substring, in line: String) -> Int? {
        let words = line.split(separator: " ")
        guard let index = words.firstIndex(of: word), index > 0 else { return nil }
        return Int(words[index - 1])
    }

    @Test func normalDurabilityLosesAcknowledgedAppendsAndTheHarnessSaysSo() throws {
        let result = try Self.run(["--durability", "normal", "--cuts", "40", "--seed", "7", "--scenario", "appends"])
        #expect(result.last.hasPrefix("power-cut-test: "), "\(result.last)")
        #expect((Self.lost(result.last) ?? 0) > 0, "no loss found with synchronous=NORMAL: \(result.last)")
        #expect(result.status == 1)
    }
}

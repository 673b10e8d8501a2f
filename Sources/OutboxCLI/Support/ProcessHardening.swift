#if canImport(Glibc)
import Glibc
#endif

/// What a process holding secrets does before it reads them: it becomes
/// non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`), so a crash writes no core
/// file with the client secret or a token in it and no other process of the
/// same user can ptrace it or read its memory through /proc; and its core
/// size limit drops to zero. (The systemd unit also sets `LimitCORE=0`.)
enum ProcessHardening {
    static func protectSecrets() {
        #if os(Linux)
        _ = prctl?(setDumpable, 0, 0, 0, 0)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        #endif
    }

    /// Whether the process may dump core (for tests).
    static var isDumpable: Bool {
        #if os(Linux)
        return prctl?(getDumpable, 0, 0, 0, 0) == 1
        #else
        return true
        #endif
    }

    #if os(Linux)
    // <linux/prctl.h>; prctl is variadic in C, so Swift reaches it by name.
    private static let getDumpable: Int32 = 3
    private static let setDumpable: Int32 = 4
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let prctl: Prctl? = dlsym(nil, "prctl").map { unsafeBitCast($0, to: Prctl.self) }
    #endif
}

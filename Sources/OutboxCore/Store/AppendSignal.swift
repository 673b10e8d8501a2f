import Synchronization

/// Wakes in-process listeners (a dispatcher running in the app) after a
/// commit that appended events, so they need not poll. Shared by the stores.
package final class AppendSignal: Sendable {
    private let listeners = Mutex<[UInt64: AsyncStream<Void>.Continuation]>([:])
    private let nextID = Atomic<UInt64>(0)
    private let notified = Atomic<Int>(0)

    package init() {}

    /// Wake-ups sent so far; tests read it to see that none came early.
    package var notifications: Int { notified.load(ordering: .relaxed) }

    package func notify() {
        notified.add(1, ordering: .relaxed)
        listeners.withLock { listeners in
            for continuation in listeners.values { continuation.yield() }
        }
    }

    /// A stream that yields after appends; at most one wake-up is buffered.
    package func stream() -> AsyncStream<Void> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        listeners.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.listeners.withLock { _ = $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream. The continuations are finished outside the lock:
    /// finishing runs `onTermination`, which takes the lock again.
    package func finishAll() {
        let continuations = listeners.withLock { listeners in
            let taken = Array(listeners.values)
            listeners.removeAll()
            return taken
        }
        for continuation in continuations { continuation.finish() }
    }
}

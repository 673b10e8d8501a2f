import AsyncHTTPClient
import NIOCore

/// Plain words for errors raised before Zuora answered.
enum TransportFailure {
    static func describe(_ error: Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return "timed out waiting for the answer"
            case .connectTimeout: return "timed out connecting"
            case .remoteConnectionClosed: return "the connection was closed before the answer"
            case .cancelled: return "cancelled"
            default: return "HTTP client error: \(error)"
            }
        }
        if let error = error as? IOError { return "I/O error: \(error.description)" }
        if error is ChannelError { return "connection error: \(error)" }
        return "\(error)"
    }
}

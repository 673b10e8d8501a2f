import Foundation
import Synchronization

public struct MockError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

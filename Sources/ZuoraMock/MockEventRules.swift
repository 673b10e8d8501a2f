import Foundation
import UsageOutbox

/// The checks the mock applies to each event, in the spirit of a meter's
/// event definition: the four documented fields with the right types (the
/// contract's rules), plus business rules a meter could add: no negative
/// quantity, no rejected customer. Like Zuora's, its 400 does not say which
/// event of the array was at fault.
enum MockEventRules {
    static func problem(text: ArraySlice<UInt8>, value: Any, rejectCustomerPrefix: String) -> String? {
        if let problem = UsageEventValidation.problem(in: text) { return problem }
        guard let object = value as? [String: Any] else { return "each event must be a JSON object" }
        if let quantity = object["Quantity"] as? NSNumber, quantity.doubleValue < 0 { return "Quantity must not be negative" }
        if !rejectCustomerPrefix.isEmpty, let customer = object["CustomerId"] as? String, customer.hasPrefix(rejectCustomerPrefix) {
            return "CustomerId does not match an active account"
        }
        return nil
    }
}

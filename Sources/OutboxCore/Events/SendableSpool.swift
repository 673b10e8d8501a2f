/// Hands a spool from the thread that filled it to the one that reads it;
/// never used by two at once.
package struct SendableSpool: @unchecked Sendable {
    package let spool: EventSpool

    package init(spool: EventSpool) { self.spool = spool }
}

// The dispatcher's API speaks the store's types (claims, settlements, retry
// policies): an app that imports OutboxDispatcher sees them too.
@_exported import OutboxCore

// The store contract, events and errors an app uses with the SQLite outbox
// live in OutboxCore: `import UsageOutbox` brings them along.
@_exported import OutboxCore

// The store contract, events and errors live in OutboxCore:
// `import OutboxPostgres` brings them along.
@_exported import OutboxCore

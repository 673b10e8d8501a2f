import OutboxCore

/// The PostgreSQL store's schema: `migrations/postgres/`, embedded by
/// `scripts/embed-migrations` into `PostgresSchema+Embedded.swift`.
package enum PostgresSchema {
    package static var latestVersion: Int { migrations.last?.version ?? 0 }
}

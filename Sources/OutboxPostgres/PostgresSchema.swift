import OutboxCore

/// The PostgreSQL store's schema: `migrations/postgres/`, embedded by
/// `scripts/embed-migrations` into `PostgresSchema+Embedded.swift`.
public enum PostgresSchema {
    public static var latestVersion: Int { migrations.last?.version ?? 0 }
}

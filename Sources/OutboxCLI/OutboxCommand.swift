import ArgumentParser

@main
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "A durable outbox that forwards usage events to Zuora's /usage/bulk/{meter}, losing none.",
        discussion: """
            Producers append events to an SQLite outbox (--db, default $OUTBOX_DB or ./outbox.sqlite); \
            `outbox drain` forwards them to Zuora in batches, with retries, backoff and dead letters.

            Try it without a Zuora account:  outbox demo
            """,
        version: OutboxVersion.current,
        subcommands: [
            DemoCommand.self,
            AppendCommand.self,
            StatusCommand.self,
            MigrateCommand.self,
            DrainCommand.self,
            CheckCommand.self,
            DeadLettersCommand.self,
            ReconcileCommand.self,
            MetersCommand.self,
            PurgeCommand.self,
            VerifyCommand.self,
            BackupCommand.self,
            ConfigCommand.self,
            MockZuoraCommand.self,
        ]
    )
}

enum OutboxVersion {
    static let current = "0.1.0"
}

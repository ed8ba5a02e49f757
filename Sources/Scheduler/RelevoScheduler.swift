import ArgumentParser

/// `relevo-scheduler`: the Relevo server. Subcommands keep this entry point thin.
@main
struct RelevoScheduler: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relevo-scheduler",
        abstract: "Relevo's scheduler: loads pipelines, keeps their state and dispatches jobs to workers.",
        subcommands: [ServeCommand.self, ValidateCommand.self, BackupCommand.self])
}

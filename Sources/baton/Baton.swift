import ArgumentParser

/// `baton`: the command line of PROTOCOL.md "Running it".
@main
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "Cross-domain single sign-on with one-time handoff tokens.",
        subcommands: [
            DemoCommand.self, ServeCommand.self, UsersCommand.self, ClientsCommand.self, KeysCommand.self, SessionsCommand.self,
            AttackCommand.self,
        ])
}

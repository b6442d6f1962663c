import ArgumentParser
import BatonServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one login host, or one or more relying parties, from configuration files.")

    enum Role: String, ExpressibleByArgument, CaseIterable {
        case login, dashboard
    }

    @Argument(help: "login or dashboard")
    var role: Role

    @Option(name: .customLong("config"), help: "A JSON configuration file (repeat for several relying parties).")
    var configs: [String] = []

    func validate() throws {
        guard !configs.isEmpty else { throw ValidationError("--config FILE is required") }
        if role == .login, configs.count > 1 { throw ValidationError("a login host takes one --config") }
    }

    func run() async throws {
        let runner: HostRunner
        switch role {
        case .login:
            runner = try await HostRunner(login: try LoginHostFile(path: configs[0]), relyingParties: [])
        case .dashboard:
            runner = try await HostRunner(login: nil, relyingParties: try configs.map(RelyingPartyFile.init(path:)))
        }
        try await runner.run()
    }
}

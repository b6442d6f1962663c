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

    @Option(
        name: .customLong("listen"),
        help: "HOST:PORT to bind instead of the file's listen (one --config only): replicas on one machine share one file.")
    var listen: String?

    func validate() throws {
        guard !configs.isEmpty else { throw ValidationError("--config FILE is required") }
        if role == .login, configs.count > 1 { throw ValidationError("a login host takes one --config") }
        if let listen {
            guard ListenAddress(parsing: listen) != nil else {
                throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
            }
            // Each relying party of a process listens on its own address: one override cannot serve several.
            guard configs.count == 1 else { throw ValidationError("--listen takes a single --config") }
        }
    }

    func run() async throws {
        let address = listen.flatMap(ListenAddress.init(parsing:))
        let runner: HostRunner
        switch role {
        case .login:
            var file = try LoginHostFile(path: configs[0])
            if let address { file.listen = address }
            LogOutput.format = try LogOutput.format(settings: [file.logFormat], current: LogOutput.format)
            runner = try await HostRunner(login: file, relyingParties: [])
        case .dashboard:
            var files = try configs.map { try RelyingPartyFile(path: $0) }
            if let address { files[0].listen = address }
            LogOutput.format = try LogOutput.format(settings: files.map(\.logFormat), current: LogOutput.format)
            runner = try await HostRunner(login: nil, relyingParties: files)
        }
        try await runner.run()
    }
}

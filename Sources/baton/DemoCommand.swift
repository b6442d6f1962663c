import ArgumentParser
import BatonCore
import BatonServer
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the login host (8080) and the dashboard (8081), reports (8082) and app (8083) relying parties on 127.0.0.1.")

    @Option(name: .customLong("data-dir"), help: "Where the demo keeps its keys, secrets and SQLite files.")
    var dataDirectory = ".baton-demo"

    @Option(help: "The Templates folder (found beside the checkout by default).")
    var templates: String?

    func run() async throws {
        let demo = try DemoSetup(dataDirectory: dataDirectory, templates: templates)
        let runner = try await HostRunner(login: demo.login, relyingParties: demo.relyingPartyFiles)
        let created = try await demo.ensureDemoUser(store: runner.loginStore!)
        let rps = DemoSetup.relyingParties.map { rp in
            let behind = rp.id == "app" ? "  (forward auth on 127.0.0.1:\(rp.port): run Scripts/demo-app for the proxy and app)" : ""
            return "  \(rp.title.padding(toLength: 10, withPad: " ", startingAt: 0)) \(rp.publicOrigin)/\(behind)"
        }
        // Written straight to the file descriptor: print() buffers when piped.
        FileHandle.standardOutput.write(
            Data(
                """
            Baton demo \(created ? "(first start: created the demo user)" : "")
              Login      \(DemoSetup.loginOrigin)/
            \(rps.joined(separator: "\n"))
            Sign in as \(DemoSetup.username) / \(DemoSetup.password). Open http://dashboard.localhost:8081/ in Chromium or Firefox.
            Metrics: curl -H 'Authorization: Bearer \(demo.metricsToken)' http://127.0.0.1:8081/metrics (every host, the same token).
            State: \(URL(fileURLWithPath: dataDirectory).standardized.path). Stop with Ctrl-C.

            """.utf8))
        try await runner.run()
    }
}

import ArgumentParser
import BatonAttack
import Foundation

struct AttackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Run the replay-attack suite against running hosts: one line per case, then 'N passed, N failed'.",
        discussion: """
            Groups: \(AttackSuite.groups.joined(separator: ", ")). Every group but '\(AttackSuite.hardening)' checks \
            PROTOCOL.md; '\(AttackSuite.hardening)' checks Baton's own choices beyond it (another implementation of \
            the contract may fail it and still be correct), and says so on each of its lines. Exit status 1 when any \
            case fails.
            """)

    @Option(help: "Where to reach the login host, e.g. http://127.0.0.1:8080.")
    var login: String

    @Option(help: "Where to reach the first relying party.")
    var dashboard: String

    @Option(help: "Where to reach a second relying party (needed by the audience cases).")
    var reports: String?

    @Option(name: .customLong("login-origin"), help: "The login host's public origin, sent as Host (default: --login).")
    var loginOrigin: String?

    @Option(name: .customLong("dashboard-origin"), help: "The first relying party's public origin (default: --dashboard).")
    var dashboardOrigin: String?

    @Option(name: .customLong("reports-origin"), help: "The second relying party's public origin (default: --reports).")
    var reportsOrigin: String?

    @Option(help: "Where to reach a reverse proxy protecting an app with forward auth (the forward-auth group).")
    var app: String?

    @Option(name: .customLong("app-origin"), help: "The app's public origin behind that proxy, sent as Host (default: --app).")
    var appOrigin: String?

    @Option(help: "The user to sign in as.")
    var user: String

    @Flag(name: .customLong("password-stdin"), help: "Read the user's password from standard input (required).")
    var passwordFromStdin = false

    @Option(
        name: .customLong("replica-propagation-seconds"),
        help: """
            Replicas behind a load balancer: how long a session ended on one replica may still be honoured by \
            another (Baton: 1). The logout cases then accept the old cookie being refused within that. Default 0: at once.
            """)
    var replicaPropagation: Double = 0

    @Option(help: "Only these groups, comma-separated (leave out 'hardening' to check the contract alone).")
    var only: String?

    @Option(help: "Also write the outcomes as JSON to this file.")
    var json: String?

    func validate() throws {
        guard passwordFromStdin else { throw ValidationError("--password-stdin is required: the password is never taken from the command line") }
        if let only {
            let unknown = Set(only.split(separator: ",").map(String.init)).subtracting(AttackSuite.groups)
            guard unknown.isEmpty else { throw ValidationError("unknown group(s): \(unknown.sorted().joined(separator: ", "))") }
        }
        if appOrigin != nil, app == nil { throw ValidationError("--app-origin needs --app") }
        guard (0...5).contains(replicaPropagation) else { throw ValidationError("--replica-propagation-seconds must be 0 to 5") }
        for (name, url) in [("--login", login), ("--dashboard", dashboard)] + (reports.map { [("--reports", $0)] } ?? [])
            + (app.map { [("--app", $0)] } ?? [])
        {
            guard PublicURL(url) != nil else { throw ValidationError("\(name) must be an absolute URL like http://127.0.0.1:8080") }
        }
    }

    func run() async throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ValidationError("no password on standard input")
        }
        var target = AttackTarget(
            loginURL: login, dashboardURL: dashboard, reportsURL: reports, loginOrigin: loginOrigin,
            dashboardOrigin: dashboardOrigin, reportsOrigin: reportsOrigin, username: user, password: password)
        target.appURL = app
        target.replicaPropagation = replicaPropagation
        target.appOrigin = (appOrigin ?? app).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        let groups = only.map { Set($0.split(separator: ",").map(String.init)) }
        let suite = AttackSuite(target: target)
        let runnable = suite.runnableGroups(only: groups)
        for (group, needs) in AttackSuite.optionalGroups.sorted(by: { $0.key < $1.key })
        where !runnable.contains(group) && (groups?.contains(group) ?? true) {
            FileHandle.standardError.write(Data("note: the \(group) group needs \(needs); it was not run\n".utf8))
        }
        let outcomes = await suite.run(only: groups) { outcome in
            FileHandle.standardOutput.write(Data((outcome.line + "\n").utf8))
        }
        let failed = outcomes.filter { !$0.passed }.count
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(outcomes).write(to: URL(fileURLWithPath: json))
        }
        if !(groups?.contains(AttackSuite.hardening) ?? true) {
            // On standard error: standard output stays "one line per case, then the count".
            FileHandle.standardError.write(Data("note: the hardening group (Baton's choices beyond the contract) was not run\n".utf8))
        }
        FileHandle.standardOutput.write(Data("\(outcomes.count - failed) passed, \(failed) failed\n".utf8))
        if failed > 0 { throw ExitCode(1) }
    }
}

import AsyncHTTPClient
import BatonAttack
import BatonCore
import BatonDashboard
import BatonLogin
import BatonSQLite
import BatonServer
import BatonWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization

/// A login host and the two demo relying parties (`dashboard`, `reports`), each on
/// its own real socket (`.live`, port 0, 127.0.0.1), over real SQLite files in a
/// temporary folder, with an injectable clock. Browsers connect to 127.0.0.1 and send
/// the public `*.localhost` names as `Host`.
public struct TestHosts: Sendable {
    public static let loginOrigin = "http://login.localhost:8080"
    public static let dashboardOrigin = "http://dashboard.localhost:8081"
    public static let reportsOrigin = "http://reports.localhost:8082"
    public static let username = "alice"
    public static let password = "wonderland"

    public let directory: String
    public let clock: TestClock
    public let loginStore: SQLiteStore
    public let dashboardStore: SQLiteStore
    public let reportsStore: SQLiteStore
    public let keyRing: SigningKeyRing
    public let http: HTTPClient
    public let routes: [String: String]
    public let ports: [String: Int]

    /// A new browser profile with an empty cookie jar.
    public func browser() -> Browser {
        Browser(http: http, routes: routes)
    }

    /// Options for the hosts under test.
    public struct Options: Sendable {
        public var tokenLifetime: Int64 = 10
        public var throttleLimit = 5
        /// Replaces the dashboard's store (e.g. a store that fails), keeping the file for the rest.
        public var dashboardStoreOverride: (@Sendable (SQLiteStore) -> any RelyingPartyStore)?
        /// Stands a weakened redeemer in for the dashboard's.
        public var dashboardRedeemer: (@Sendable (RelyingPartyParts) -> any HandoffRedeeming)?
        /// Stands a weakened `/handoff` check in for the login host's client registry.
        public var handoffRequests: (@Sendable (ClientRegistry) -> any HandoffRequestValidating)?

        /// Defaults.
        public init() {}
    }

    /// Starts the three hosts, runs `body`, and stops everything it started.
    public static func run<T: Sendable>(
        options: Options = Options(), _ body: @Sendable (TestHosts) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = TestClock()
        let pages = try await Pages.load(directory: templateDirectory())
        let logger = {
            var logger = Logger(label: "baton.test")
            logger.logLevel = ProcessInfo.processInfo.environment["BATON_TEST_LOG"] == nil ? .critical : .debug
            return logger
        }()

        let secrets = ["dashboard": Secrets.random(), "reports": Secrets.random()]
        let clients = [("dashboard", dashboardOrigin), ("reports", reportsOrigin)].map { id, origin in
            ClientRegistry.Client(clientID: id, redirectURIs: [origin + "/sso/callback"], secretHash: Secrets.hash(secrets[id]!))
        }
        let loginStore = try SQLiteStore(path: directory + "/login.sqlite")
        let hasher = PasswordHasher(cost: 4)
        try await loginStore.insertUser(
            User(id: "user-alice", username: username, displayName: "Alice Liddell", passwordHash: await hasher.hash(password), createdAt: clock.now()))
        let ring = try SigningKeyRing.loadOrCreate(at: directory + "/keys.json", clock: clock)
        let login = await LoginHost(
            configuration: LoginHostConfiguration(
                publicOrigin: loginOrigin, clients: ClientRegistry(clients), tokenLifetime: options.tokenLifetime,
                throttleLimit: options.throttleLimit),
            store: loginStore, keyRing: ring, pages: pages, hasher: hasher, clock: clock, logger: logger,
            handoffRequests: options.handoffRequests?(ClientRegistry(clients)))
        let http = Browser.makeHTTPClient()
        let backChannelHTTP = BackChannelClient.makeHTTPClient()
        do {
            let result = try await Application(router: login.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                .test(.live) { loginClient in
                    let loginPort = loginClient.port!
                    let dashboardStore = try SQLiteStore(path: directory + "/dashboard.sqlite")
                    let reportsStore = try SQLiteStore(path: directory + "/reports.sqlite")
                    func relyingParty(_ id: String, _ title: String, _ origin: String, _ store: any RelyingPartyStore) -> RelyingPartyHost {
                        let backChannel = BackChannelClient(
                            http: backChannelHTTP, baseURL: "http://127.0.0.1:\(loginPort)", clientID: id, clientSecret: secrets[id]!)
                        let keys = TrustedKeySet(fetchingWith: { try await backChannel.fetchJWKS() }, clock: clock)
                        let parts = RelyingPartyParts(
                            clientID: id, issuer: loginOrigin, keys: keys, store: store, directory: backChannel, clock: clock)
                        return RelyingPartyHost(
                            configuration: RelyingPartyConfiguration(
                                clientID: id, clientSecret: secrets[id]!, title: title, publicOrigin: origin, issuer: loginOrigin,
                                loginBackChannelURL: "http://127.0.0.1:\(loginPort)"),
                            store: store, keys: keys, directory: backChannel, pages: pages, clock: clock, logger: logger,
                            redeemer: id == "dashboard" ? options.dashboardRedeemer?(parts) : nil)
                    }
                    let dashboard = relyingParty(
                        "dashboard", "Dashboard", dashboardOrigin, options.dashboardStoreOverride?(dashboardStore) ?? dashboardStore)
                    let reports = relyingParty("reports", "Reports", reportsOrigin, reportsStore)
                    return try await Application(router: dashboard.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                        .test(.live) { dashboardClient in
                            try await Application(router: reports.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
                                .test(.live) { reportsClient in
                                    let ports = [
                                        "login": loginPort, "dashboard": dashboardClient.port!, "reports": reportsClient.port!,
                                    ]
                                    let hosts = TestHosts(
                                        directory: directory, clock: clock, loginStore: loginStore, dashboardStore: dashboardStore,
                                        reportsStore: reportsStore, keyRing: ring, http: http,
                                        routes: [
                                            "login.localhost:8080": "http://127.0.0.1:\(ports["login"]!)",
                                            "dashboard.localhost:8081": "http://127.0.0.1:\(ports["dashboard"]!)",
                                            "reports.localhost:8082": "http://127.0.0.1:\(ports["reports"]!)",
                                        ],
                                        ports: ports)
                                    return try await body(hosts)
                                }
                        }
                }
            try await http.shutdown()
            try await backChannelHTTP.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            try? await backChannelHTTP.shutdown()
            throw error
        }
    }

    /// An attack-suite target for these hosts: sockets on 127.0.0.1, public names as `Host`.
    public var attackTarget: AttackTarget {
        AttackTarget(
            loginURL: "http://127.0.0.1:\(ports["login"]!)", dashboardURL: "http://127.0.0.1:\(ports["dashboard"]!)",
            reportsURL: "http://127.0.0.1:\(ports["reports"]!)", loginOrigin: Self.loginOrigin, dashboardOrigin: Self.dashboardOrigin,
            reportsOrigin: Self.reportsOrigin, username: Self.username, password: Self.password)
    }

    /// The repository's `Templates/`, found from this source file's location.
    public static func templateDirectory() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Templates").standardized.path
    }

    /// The repository root.
    public static func repositoryRoot() -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    }

    /// A browser signed in on the login host and on `rpOrigin`.
    public func signedInBrowser(at rpOrigin: String = dashboardOrigin) async throws -> Browser {
        let browser = browser()
        let trace = try await browser.signIn(rpOrigin: rpOrigin, username: Self.username, password: Self.password)
        guard trace.final.status == 200 else {
            throw BrowserError.unexpected("sign-in ended with \(trace.final.status) at \(trace.final.url)")
        }
        return browser
    }
}

/// What a relying party is made of, for tests that assemble a weakened one.
public struct RelyingPartyParts: Sendable {
    public let clientID: String
    public let issuer: String
    public let keys: TrustedKeySet
    public let store: any RelyingPartyStore
    public let directory: any LoginSessionDirectory
    public let clock: any BatonClock
}

/// Real time plus an offset a test can move forward: tokens carry real times (so a
/// black-box client that waits sees them expire) and expiry tests need no sleeping.
public final class TestClock: BatonClock {
    private let offset = Mutex<TimeInterval>(0)

    /// A clock at real time.
    public init() {}

    public func now() -> Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: TimeInterval) {
        offset.withLock { $0 += seconds }
    }
}

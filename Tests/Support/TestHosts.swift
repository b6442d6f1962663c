import AsyncHTTPClient
import BatonAttack
import BatonCore
import BatonDashboard
import BatonLogin
import BatonServer
import BatonWeb
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A login host and the two demo relying parties (`dashboard`, `reports`), each on
/// its own real socket on 127.0.0.1, served as `baton serve` serves them
/// (`HostAssembly.application`, inline answers included), over stores opened by the store
/// factory (real SQLite files in a temporary folder unless ``Options/storeLocation``
/// says otherwise), with an injectable clock. Browsers connect to 127.0.0.1 and send
/// the public `*.localhost` names as `Host`.
public struct TestHosts: Sendable {
    public static let loginOrigin = "http://login.localhost:8080"
    public static let dashboardOrigin = "http://dashboard.localhost:8081"
    public static let reportsOrigin = "http://reports.localhost:8082"
    public static let username = "alice"
    public static let password = "wonderland"
    public static let email = "alice@example.com"
    public static let groups = ["staff", "ops"]
    /// Every host's `metrics_token` (``metricsAuthorization`` sends it).
    public static let metricsToken = "test-metrics-token-0123456789abcdef-0123"
    /// The header `/metrics` asks for.
    public static let metricsAuthorization = [("Authorization", "Bearer " + metricsToken)]

    public let directory: String
    public let clock: TestClock
    public let loginHost: LoginHost
    public let loginStore: any BatonStore
    public let dashboardStore: any BatonStore
    public let reportsStore: any BatonStore
    public let keyRing: SigningKeyRing
    /// The login host's key file: a second writer (`baton keys rotate`) may rotate it.
    public var keyFile: String { directory + "/keys.json" }
    public let http: HTTPClient
    public let routes: [String: String]
    public let ports: [String: Int]
    /// Each relying party's back-channel secret, by client id.
    public let secrets: [String: String]
    /// How many requests each host answered on the event loop (``InlineResponder``)
    /// rather than through its router: `/handoff` for `login`, `/sso/auth` for each
    /// relying party by client id.
    public let inlineAnswers: [String: InlineAnswerCount]

    /// A count that tests read while the hosts run.
    public final class InlineAnswerCount: Sendable {
        private let count = Atomic<Int>(0)
        public var value: Int { count.load(ordering: .relaxed) }
        public func add() { count.add(1, ordering: .relaxed) }
        public init() {}
    }

    /// A new browser profile with an empty cookie jar.
    public func browser() -> Browser {
        Browser(http: http, routes: routes)
    }

    /// Options for the hosts under test.
    public struct Options: Sendable {
        public var tokenLifetime: Int64 = 10
        public var throttleLimit = 5
        /// Where each host's store lives (`login`, `dashboard`, `reports`), given the test's folder:
        /// a SQLite file there by default.
        public var storeLocation: @Sendable (_ host: String, _ directory: String) -> StoreLocation = { host, directory in
            .sqlite(path: directory + "/\(host).sqlite")
        }
        /// Replaces the dashboard's store (e.g. a store that fails), keeping the real one for the rest.
        public var dashboardStoreOverride: (@Sendable (any BatonStore) -> any RelyingPartyStore & StoreProbe)?
        /// Stands a weakened redeemer in for the dashboard's.
        public var dashboardRedeemer: (@Sendable (RelyingPartyParts) -> any HandoffRedeeming)?
        /// Stands a weakened redeemer in for the reports relying party's.
        public var reportsRedeemer: (@Sendable (RelyingPartyParts) -> any HandoffRedeeming)?
        /// Clients registered without a back-channel logout URI (they rely on revalidation).
        public var withoutBackChannelLogout: Set<String> = []
        /// The relying parties' revalidation interval (0: never).
        public var revalidateInterval: TimeInterval = 30
        /// Idle timeouts: login sessions, RP sessions.
        public var loginIdleTimeout: TimeInterval = 2 * 3600
        public var rpIdleTimeout: TimeInterval = 3600
        /// Stands a weakened `/handoff` check in for the login host's client registry.
        public var handoffRequests: (@Sendable (ClientRegistry) -> any HandoffRequestValidating)?
        /// The algorithm of the login host's keys.
        public var signingAlgorithm: SigningAlgorithm = .eddsa
        /// The algorithm the relying parties pin (the login host's by default).
        public var relyingPartyAlgorithm: SigningAlgorithm?
        /// How long a rotated key is published before it signs.
        public var keyActivationDelay: TimeInterval = LoginHostConfiguration.defaultKeyActivationDelay
        /// The JWKS `Cache-Control: max-age`.
        public var jwksMaxAge = LoginHostConfiguration.defaultJWKSMaxAge
        /// How long the relying parties cache the JWKS at least and at most.
        public var jwksMaxAgeBounds = TrustedKeySet.defaultMaxAgeBounds
        /// Proxies whose X-Forwarded-For the login host believes (tests pose as many clients).
        public var trustedProxies: [IPNetwork] = []
        /// The login host's password hasher.
        public var hasher = PasswordHasher(cost: 4)
        /// The dashboard's `allowed_groups` (empty: anyone).
        public var dashboardAllowedGroups: [String] = []
        /// The relying parties' connection bounds (`baton serve`'s defaults).
        public var rpConnections = ConnectionSettings()
        /// How long a session read from a store answers from memory, on every host
        /// (`baton serve`: a second). Longer takes timing out of a test's steps.
        public var sessionCacheLifetime: Duration = .seconds(1)

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
        // The relying parties' ports are chosen first: the login host must know where to
        // send back-channel logouts before they start.
        let rpPorts = ["dashboard": try freePort(), "reports": try freePort()]
        let clients = [("dashboard", dashboardOrigin), ("reports", reportsOrigin)].map { id, origin in
            ClientRegistry.Client(
                clientID: id, redirectURIs: [origin + "/sso/callback"], secretHash: Secrets.hash(secrets[id]!),
                backChannelLogoutURI: options.withoutBackChannelLogout.contains(id)
                    ? nil : "http://127.0.0.1:\(rpPorts[id]!)/sso/backchannel-logout")
        }
        @Sendable func open(_ host: String) async throws -> any BatonStore {
            try await StoreFactory.open(options.storeLocation(host, directory), poolSize: 4, logger: logger)
        }
        let loginStore = try await open("login")
        let hasher = options.hasher
        try await loginStore.insertUser(
            User(
                id: "user-alice", username: username, displayName: "Alice Liddell", email: email, groups: groups,
                passwordHash: await hasher.hash(password), createdAt: clock.now()))
        let ring = try SigningKeyRing.loadOrCreate(at: directory + "/keys.json", algorithm: options.signingAlgorithm, clock: clock)
        let backChannelHTTP = BackChannelClient.makeHTTPClient()
        let login = await LoginHost(
            configuration: LoginHostConfiguration(
                publicOrigin: loginOrigin, clients: ClientRegistry(clients), tokenLifetime: options.tokenLifetime,
                sessionTimeouts: .init(idle: options.loginIdleTimeout), throttle: .init(perAccountAndAddress: options.throttleLimit),
                trustedProxies: options.trustedProxies,
                signingAlgorithm: options.signingAlgorithm, keyActivationDelay: options.keyActivationDelay,
                jwksMaxAge: options.jwksMaxAge, metricsToken: metricsToken),
            store: loginStore, keyRing: ring, keyFile: directory + "/keys.json", pages: pages, hasher: hasher, clock: clock,
            logger: logger,
            handoffRequests: options.handoffRequests?(ClientRegistry(clients)), logoutHTTP: backChannelHTTP,
            sessionCacheLifetime: options.sessionCacheLifetime)
        let http = Browser.makeHTTPClient()
        let dispatcher = Task { await login.logoutDispatcher?.run() }
        defer { dispatcher.cancel() }
        do {
            let loginPort = try freePort()
            let result = try await { () async throws -> T in
                    let dashboardStore = try await open("dashboard")
                    let reportsStore = try await open("reports")
                    func relyingParty(
                        _ id: String, _ title: String, _ origin: String, _ store: any RelyingPartyStore & StoreProbe
                    ) -> RelyingPartyHost {
                        let backChannel = BackChannelClient(
                            http: backChannelHTTP, baseURL: "http://127.0.0.1:\(loginPort)", clientID: id, clientSecret: secrets[id]!)
                        let keys = TrustedKeySet(
                            fetchingCacheableWith: { try await backChannel.fetchKeySet() }, clock: clock,
                            maxAgeBounds: options.jwksMaxAgeBounds)
                        let parts = RelyingPartyParts(
                            clientID: id, issuer: loginOrigin, keys: keys, store: store, directory: backChannel,
                            states: SignInStateSealer(clientID: id, secret: secrets[id]!), clock: clock)
                        return RelyingPartyHost(
                            pinning: options.relyingPartyAlgorithm ?? options.signingAlgorithm,
                            configuration: RelyingPartyConfiguration(
                                clientID: id, clientSecret: secrets[id]!, title: title, publicOrigin: origin, issuer: loginOrigin,
                                loginBackChannelURL: "http://127.0.0.1:\(loginPort)", sessionIdleTimeout: options.rpIdleTimeout,
                                revalidateInterval: options.revalidateInterval,
                                allowedGroups: id == "dashboard" ? options.dashboardAllowedGroups : [], metricsToken: metricsToken),
                            store: store, keys: keys, directory: backChannel, pages: pages, clock: clock, logger: logger,
                            redeemer: id == "dashboard" ? options.dashboardRedeemer?(parts) : options.reportsRedeemer?(parts),
                            sessionCacheLifetime: options.sessionCacheLifetime)
                    }
                    let dashboard = relyingParty(
                        "dashboard", "Dashboard", dashboardOrigin, options.dashboardStoreOverride?(dashboardStore) ?? dashboardStore)
                    let reports = relyingParty("reports", "Reports", reportsOrigin, reportsStore)
                    // Every host listens on a port chosen before the login host was built
                    // (it must know where to send back-channel logouts), on 127.0.0.1.
                    let (ready, readyContinuation) = AsyncStream.makeStream(of: Void.self)
                    let inlineAnswers = ["login": InlineAnswerCount(), "dashboard": InlineAnswerCount(), "reports": InlineAnswerCount()]
                    func counted(_ inline: (path: String, answer: InlineResponder.Answer), _ id: String) -> (
                        path: String, answer: InlineResponder.Answer
                    ) {
                        let count = inlineAnswers[id]!
                        return (
                            inline.path,
                            { head in
                                let answer = inline.answer(head)
                                if answer != nil { count.add() }
                                return answer
                            }
                        )
                    }
                    // The login host first, so that it stops last.
                    let apps =
                        [
                            HostAssembly.application(
                                router: login.router(), listen: ListenAddress(port: loginPort), inline: counted(login.inlineHandoff, "login"),
                                logger: logger, onServerRunning: { _ in readyContinuation.yield() })
                        ]
                        + [(dashboard, "dashboard"), (reports, "reports")].map { host, id in
                            HostAssembly.application(
                                router: host.router(), listen: ListenAddress(port: rpPorts[id]!), connections: options.rpConnections,
                                inline: counted(host.inlineForwardAuth, id), logger: logger,
                                onServerRunning: { _ in readyContinuation.yield() })
                        }
                    let serviceGroup = ServiceGroup(configuration: .init(services: apps, gracefulShutdownSignals: [], logger: logger))
                    let failure = FailureNote()
                    return try await withThrowingTaskGroup(of: T?.self) { group in
                        group.addTask {
                            // However the servers end (a failed bind included), the wait for
                            // them to be ready ends too.
                            defer { readyContinuation.finish() }
                            do {
                                try await serviceGroup.run()
                            } catch {
                                failure.record(error)
                                throw error
                            }
                            return nil
                        }
                        var started = 0
                        for await _ in ready {
                            started += 1
                            if started == apps.count { break }
                        }
                        guard started == apps.count else {
                            group.cancelAll()
                            let reason = failure.text ?? "no error"
                            throw BrowserError.unexpected("a host did not start (ports \(rpPorts), login \(loginPort)): \(reason)")
                        }
                        let ports = ["login": loginPort, "dashboard": rpPorts["dashboard"]!, "reports": rpPorts["reports"]!]
                        let hosts = TestHosts(
                            directory: directory, clock: clock, loginHost: login, loginStore: loginStore,
                            dashboardStore: dashboardStore,
                            reportsStore: reportsStore, keyRing: ring, http: http,
                            routes: [
                                "login.localhost:8080": "http://127.0.0.1:\(ports["login"]!)",
                                "dashboard.localhost:8081": "http://127.0.0.1:\(ports["dashboard"]!)",
                                "reports.localhost:8082": "http://127.0.0.1:\(ports["reports"]!)",
                            ],
                            ports: ports, secrets: secrets, inlineAnswers: inlineAnswers)
                        let outcome: Result<T, any Error>
                        do {
                            outcome = .success(try await body(hosts))
                        } catch {
                            outcome = .failure(error)
                        }
                        // Browsers leave first, so no idle keep-alive connection holds a
                        // server's graceful shutdown open; then the servers stop, within a
                        // bound: a stuck connection must not hang the whole test run.
                        try? await http.shutdown()
                        await serviceGroup.triggerGracefulShutdown()
                        group.addTask {
                            try? await Task.sleep(for: .seconds(15))
                            return nil
                        }
                        _ = try? await group.next()
                        group.cancelAll()
                        return try outcome.get()
                    }
                }()
            try? await http.shutdown()
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

extension RelyingPartyHost {
    /// A relying party whose configuration pins `algorithm`.
    init(
        pinning algorithm: SigningAlgorithm, configuration: RelyingPartyConfiguration, store: any RelyingPartyStore & StoreProbe,
        keys: TrustedKeySet, directory: any LoginSessionDirectory, pages: Pages, clock: any BatonClock, logger: Logger?,
        redeemer: (any HandoffRedeeming)?, sessionCacheLifetime: Duration
    ) {
        var configuration = configuration
        configuration.algorithm = algorithm
        self.init(
            configuration: configuration, store: store, keys: keys, directory: directory, pages: pages, clock: clock, logger: logger,
            redeemer: redeemer, sessionCacheLifetime: sessionCacheLifetime)
    }
}

/// What a relying party is made of, for tests that assemble a weakened one.
public struct RelyingPartyParts: Sendable {
    public let clientID: String
    public let issuer: String
    public let keys: TrustedKeySet
    public let store: any RelyingPartyStore
    public let directory: any LoginSessionDirectory
    public let states: SignInStateSealer
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

/// A port nobody listens on right now, on 127.0.0.1, chosen below Linux's ephemeral
/// range (32768–60999): a port the kernel hands out for binding to 0 can be taken by the
/// next outgoing connection before our server binds it, and these tests open hundreds.
/// Ports are never handed out twice in one test process: tests run in parallel, and two
/// could otherwise probe the same free port before either binds it.
public func freePort() throws -> Int {
    for _ in 0..<200 {
        let candidate = Int.random(in: 20000..<32000)
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrowserError.unexpected("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(candidate).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        if bound { return candidate }
    }
    throw BrowserError.unexpected("no free port between 20000 and 32000")
}

private let handedOutPorts = Mutex<Set<Int>>([])

/// The first error of a background task, for the message of the one that waited on it.
final class FailureNote: Sendable {
    private let note = Mutex<String?>(nil)
    func record(_ error: any Error) { note.withLock { $0 = $0 ?? String(describing: error) } }
    var text: String? { note.withLock { $0 } }
}

import AsyncHTTPClient
import BatonCore
import BatonDashboard
import BatonLogin
import BatonSQLite
import BatonWeb
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// Wires configuration files to hosts: the stores, keys, templates and HTTP servers.
/// The CLI and the tests build hosts only through here.
public enum HostAssembly {
    /// A login host from its configuration file, on `store` (opened from the file's
    /// `database` when nil); `http` posts its back-channel logouts.
    public static func loginHost(
        _ file: LoginHostFile, store: (any BatonStore)? = nil, http: HTTPClient? = nil, clock: any BatonClock = SystemClock(),
        logger: Logger = Logger(label: "baton.login")
    ) async throws -> (host: LoginHost, store: any BatonStore) {
        let store = try await opened(store, file.database, poolSize: file.databasePoolSize, logger: logger)
        let ring: SigningKeyRing
        switch file.signingKeys {
        case .file(let path):
            ring = try SigningKeyRing.loadOrCreate(at: path, algorithm: file.host.signingAlgorithm, clock: clock)
        case .database:
            ring = try await SigningKeyRing.loadOrCreate(in: store, algorithm: file.host.signingAlgorithm, clock: clock)
        }
        let pages = try await Pages.load(directory: Pages.locateTemplates(file.templates))
        let host = await LoginHost(
            configuration: file.host, store: store, keyRing: ring, keyFile: file.keyFile,
            keyStore: file.signingKeys == .database ? store : nil, pages: pages,
            hasher: PasswordHasher(cost: UInt8(file.bcryptCost)), clock: clock, logger: logger, logoutHTTP: http,
            // Replicas on a shared store count sign-in failures together.
            throttle: store.sharedSignInThrottle(limits: file.host.throttle, clock: clock))
        return (host, store)
    }

    /// A relying party from its configuration file, on `store` (opened from the file's
    /// `database` when nil), reaching the login host with `http`.
    public static func relyingParty(
        _ file: RelyingPartyFile, store: (any BatonStore)? = nil, http: HTTPClient, clock: any BatonClock = SystemClock(),
        logger: Logger? = nil
    ) async throws -> (host: RelyingPartyHost, store: any BatonStore) {
        let store = try await opened(
            store, file.database, poolSize: file.databasePoolSize, logger: logger ?? Logger(label: "baton.rp.\(file.host.clientID)"))
        let backChannel = BackChannelClient(
            http: http, baseURL: file.host.loginBackChannelURL, clientID: file.host.clientID, clientSecret: file.host.clientSecret,
            trustRoots: file.caFile?.certificates)
        let metrics = HostMetrics()
        let keys: TrustedKeySet
        if let trusted = file.trustedKeys {
            guard let data = FileManager.default.contents(atPath: trusted),
                let document = try? JWKSDocument(json: Array(data)), !document.keys.isEmpty
            else {
                throw ConfigurationError(field: "trusted_keys", message: "\(trusted) is not a JWKS with an Ed25519 or P-256 key")
            }
            keys = try await TrustedKeySet(fixed: document, clock: clock)
        } else {
            keys = TrustedKeySet(
                fetchingCacheableWith: RelyingPartyHost.counting(
                    jwksFetch: { try await backChannel.fetchKeySet() }, in: metrics,
                    logger: logger ?? Logger(label: "baton.rp.\(file.host.clientID)")),
                clock: clock, maxStale: file.host.jwksMaxStale)
        }
        let pages = try await Pages.load(directory: Pages.locateTemplates(file.templates))
        let host = RelyingPartyHost(
            configuration: file.host, store: store, keys: keys, directory: backChannel, pages: pages, clock: clock, logger: logger,
            metrics: metrics)
        return (host, store)
    }

    /// `store`, or else the store at `location`.
    static func opened(
        _ store: (any BatonStore)?, _ location: StoreLocation, poolSize: Int, logger: Logger
    ) async throws -> any BatonStore {
        if let store { return store }
        return try await StoreFactory.open(location, poolSize: poolSize, logger: logger)
    }

    /// An HTTP/1.1 server for `router` on `listen`, bounded as `connections` says: a
    /// request must arrive whole within its timeout (a trickled head or body is cut
    /// off), an idle keep-alive connection closes after the idle timeout, and
    /// connections beyond the cap are closed at once. With `tls`, HTTP/1.1 over TLS
    /// only, each new connection with the certificate `tls` holds when it arrives. With
    /// `inline`, the requests for its path that its answer can decide at once are answered
    /// on the event loop (``InlineResponder``), the others by `router`.
    public static func application(
        router: Router<BatonRequestContext>, listen: ListenAddress, connections: ConnectionSettings = ConnectionSettings(),
        tls: ServerCertificate? = nil, inline: (path: String, answer: InlineResponder.Answer)? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let count = ConnectionCount(limit: connections.maxConnections, logger: logger)
        let requestTimeout = TimeAmount(connections.requestTimeout)
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionCapHandler(count: count), RequestDeadlineHandler(timeout: requestTimeout)],
            idleTimeout: TimeAmount(connections.idleTimeout))
        let server = HTTPServerBuilder { responder -> any ServerChildChannel in
            func secured(_ base: some ServerChildChannel) -> any ServerChildChannel {
                tls.map { TLSServerChannel(base: base, certificate: $0) } ?? base
            }
            let http = HTTP1Channel(responder: responder, configuration: http1)
            guard let inline else { return secured(http) }
            return secured(InlineChannel(base: http, path: inline.path, answer: inline.answer))
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

/// Removes expired used tokens, sessions and deliveries once a minute, and
/// relying-party sessions idle beyond their timeout.
public struct PruneService: Service {
    /// A store, and the idle timeout of each relying party whose sessions it keeps.
    public typealias Target = (store: any Pruning, idleTimeouts: [String: TimeInterval])

    let targets: [Target]
    let clock: any BatonClock
    let logger: Logger

    /// A pruner for `stores`, none of which keeps relying-party sessions to prune when idle.
    public init(stores: [any Pruning], clock: any BatonClock = SystemClock(), logger: Logger) {
        self.init(targets: stores.map { ($0, [:]) }, clock: clock, logger: logger)
    }

    /// A pruner for `targets`.
    public init(targets: [Target], clock: any BatonClock = SystemClock(), logger: Logger) {
        self.targets = targets
        self.clock = clock
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            for (store, idleTimeouts) in targets {
                do {
                    try await store.prune(now: clock.now(), idleTimeouts: idleTimeouts)
                } catch {
                    logger.error("pruning failed", metadata: ["error": .string(String(describing: error))])
                }
            }
            // Wakes early, and ends the loop, when shutdown begins.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(60)) }
        }
    }
}

/// Writes what relying parties' session gates learned (last use, revalidations) every
/// `interval`, in one transaction per store, and once more after the servers have
/// stopped.
public struct SessionGateFlushService: Service {
    let gates: [SessionGate]
    let interval: Duration
    let logger: Logger

    /// A flusher for `gates`.
    public init(gates: [SessionGate], interval: Duration = .seconds(10), logger: Logger) {
        self.gates = gates
        self.interval = interval
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            await flush()
        }
    }

    func flush() async {
        for gate in gates {
            do {
                try await gate.flush()
            } catch {
                logger.error("writing session activity failed; kept for the next try", metadata: ["error": .string(String(describing: error))])
            }
        }
    }
}

/// Checkpoints SQLite files every half second on a connection of their own, so that
/// the commits requests wait for never carry a checkpoint (see `SQLiteStore.checkpoint()`).
public struct CheckpointService: Service {
    let stores: [SQLiteStore]
    let logger: Logger

    public init(stores: [SQLiteStore], logger: Logger) {
        self.stores = stores
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
            for store in stores {
                do {
                    try await store.checkpointInBackground()
                } catch {
                    logger.debug("checkpoint skipped", metadata: ["error": .string(String(describing: error))])
                }
            }
        }
    }
}

/// Closes the stores once everything else has stopped (it is the first service, so the
/// last to stop): their pools stay open for the servers' last requests and writes.
public struct StoreShutdownService: Service {
    let stores: [any StoreLifecycle]

    public init(stores: [any StoreLifecycle]) { self.stores = stores }

    public func run() async {
        try? await gracefulShutdown()
        for store in stores { await store.shutdown() }
    }
}

/// Ends idle and expired login sessions every `interval`, sending their
/// back-channel logouts. Its description names it only: ServiceLifecycle logs every
/// service at start (debug), and the host it holds carries the configuration.
public struct SessionReaperService: Service, CustomStringConvertible {
    public var description: String { "SessionReaperService(login host, every \(interval))" }

    let host: LoginHost
    let interval: Duration
    let logger: Logger

    /// A reaper for `host`.
    public init(host: LoginHost, interval: Duration = .seconds(30), logger: Logger) {
        self.host = host
        self.interval = interval
        self.logger = logger
    }

    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                _ = try await host.reapStaleSessions()
            } catch {
                logger.error("reaping sessions failed", metadata: ["error": .string(String(describing: error))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Shuts the back-channel HTTP client down after the servers have stopped.
public struct HTTPClientService: Service {
    let client: HTTPClient

    /// Owns `client` for the lifetime of the service group.
    public init(client: HTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

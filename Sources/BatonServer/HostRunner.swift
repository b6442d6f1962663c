import AsyncHTTPClient
import BatonCore
import BatonDashboard
import BatonLogin
import BatonSQLite
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs a set of hosts in one process until SIGTERM or SIGINT, then stops them
/// gracefully: requests in flight finish, then the stores and clients close.
public struct HostRunner: Sendable {
    public let loginStore: (any BatonStore)?
    let services: [any Service]
    let logger = Logger(label: "baton")
    /// The longest `shutdown_timeout_seconds` of the hosts run here.
    let shutdownTimeout: Duration

    /// Builds the hosts; fails with a ``ConfigurationError`` naming the bad field. Hosts
    /// whose `database` names the same store share one (one pool, bounded by the largest
    /// `database_pool_size` among them).
    public init(login: LoginHostFile?, relyingParties: [RelyingPartyFile]) async throws {
        // A service group shuts down in reverse order: the HTTP servers first (requests
        // in flight finish, back-channel calls included), then the pruner, then the client.
        var services: [any Service] = []
        var loginStore: (any BatonStore)?
        let storeLogger = Logger(label: "baton.store")
        var poolSizes: [StoreLocation: Int] = [:]
        let settings = (login.map { [($0.database, $0.databasePoolSize)] } ?? []) + relyingParties.map { ($0.database, $0.databasePoolSize) }
        for (location, size) in settings { poolSizes[location] = max(poolSizes[location] ?? 0, size) }
        var opened: [(location: StoreLocation, store: any BatonStore, idleTimeouts: [String: TimeInterval])] = []
        func sharedStore(_ location: StoreLocation, idleTimeouts: [String: TimeInterval] = [:]) async throws -> any BatonStore {
            if let index = opened.firstIndex(where: { $0.location == location }) {
                opened[index].idleTimeouts.merge(idleTimeouts) { max($0, $1) }
                return opened[index].store
            }
            let store = try await StoreFactory.open(
                location, poolSize: poolSizes[location] ?? StoreFactory.defaultPoolSize, logger: storeLogger)
            opened.append((location, store, idleTimeouts))
            return store
        }
        var servers: [any Service] = []
        // Every host's connection cap fits its share of the open-file limit, which the
        // `baton` command raised to the hard limit before anything else.
        let hostCount = (login == nil ? 0 : 1) + relyingParties.count
        let openFiles = OpenFileLimit.current() ?? 1024
        let logger = Logger(label: "baton")
        func fitted(_ settings: ConnectionSettings, _ name: String) -> ConnectionSettings {
            let fitted = settings.fitting(openFiles: openFiles, hosts: hostCount)
            let metadata: Logger.Metadata = [
                "host": "\(name)", "max_connections": "\(fitted.maxConnections)", "open_file_limit": "\(openFiles)",
                "request_timeout": "\(fitted.requestTimeout)",
            ]
            if fitted.maxConnections < settings.maxConnections {
                logger.warning("max_connections \(settings.maxConnections) lowered to fit the open-file limit", metadata: metadata)
            } else {
                logger.info("connection limits", metadata: metadata)
            }
            return fitted
        }
        // A client made here is shut down if building a host fails after it, so that a
        // configuration error is reported as one instead of ending in a client's deinit.
        var clients: [HTTPClient] = []
        func makeClient(trusting bundle: TrustBundle?) -> HTTPClient {
            let http = BackChannelClient.makeHTTPClient(trustRoots: bundle?.certificates)
            clients.append(http)
            return http
        }
        // Relying parties that trust the same certificates (`ca_file`) share a client.
        var relyingPartyClients: [String?: HTTPClient] = [:]
        var certificates: [(host: String, certificate: ServerCertificate)] = []
        func certificate(_ files: TLSFiles?, _ name: String) throws -> ServerCertificate? {
            guard let files else { return nil }
            let certificate = try ServerCertificate(files: files)
            certificates.append((name, certificate))
            return certificate
        }
        for warning in (login?.warnings ?? []) + relyingParties.flatMap(\.warnings) { logger.warning("\(warning)") }
        do {
            if let login {
                let http = makeClient(trusting: login.caFile)
                services.append(HTTPClientService(client: http))
                let (host, store) = try await HostAssembly.loginHost(login, store: try await sharedStore(login.database), http: http)
                if let dispatcher = host.logoutDispatcher { services.append(dispatcher) }
                services.append(SessionReaperService(host: host, logger: Logger(label: "baton.login.reaper")))
                servers.append(
                    HostAssembly.application(
                        router: host.router(), listen: login.listen, connections: fitted(login.connections, "login"),
                        tls: try certificate(login.tls, "login"), inline: host.inlineHandoff, logger: Logger(label: "baton.login")))
                loginStore = store
            }
            if !relyingParties.isEmpty {
                var gates: [SessionGate] = []
                for file in relyingParties {
                    let http: HTTPClient
                    if let shared = relyingPartyClients[file.caFile?.path] {
                        http = shared
                    } else {
                        http = makeClient(trusting: file.caFile)
                        relyingPartyClients[file.caFile?.path] = http
                        services.append(HTTPClientService(client: http))
                    }
                    let (host, _) = try await HostAssembly.relyingParty(
                        file, store: try await sharedStore(file.database, idleTimeouts: [file.host.clientID: file.host.sessionIdleTimeout]),
                        http: http)
                    servers.append(
                        HostAssembly.application(
                            router: host.router(), listen: file.listen, connections: fitted(file.connections, file.host.clientID),
                            tls: try certificate(file.tls, file.host.clientID), inline: host.inlineForwardAuth,
                            logger: Logger(label: "baton.rp.\(file.host.clientID)")))
                    gates.append(host.gate)
                }
                // Stopped after the servers: the last requests' activity is written too.
                services.append(SessionGateFlushService(gates: gates, logger: Logger(label: "baton.rp.activity")))
            }
        } catch {
            for client in clients { try? await client.shutdown() }
            for entry in opened { await entry.store.shutdown() }
            throw error
        }
        services.append(PruneService(targets: opened.map { ($0.store, $0.idleTimeouts) }, logger: Logger(label: "baton.prune")))
        let sqlite = opened.compactMap { $0.store as? SQLiteStore }
        if !sqlite.isEmpty { services.append(CheckpointService(stores: sqlite, logger: Logger(label: "baton.sqlite"))) }
        if !certificates.isEmpty {
            services.append(CertificateReloadService(certificates: certificates, logger: Logger(label: "baton.tls")))
        }
        // First, so stopped last: after the servers and every service that writes.
        self.services = [StoreShutdownService(stores: opened.map(\.store))] + services + servers
        self.loginStore = loginStore
        self.shutdownTimeout = ([login?.connections.shutdownTimeout].compactMap { $0 } + relyingParties.map(\.connections.shutdownTimeout))
            .max() ?? .seconds(ConnectionSettings.defaultShutdownTimeoutSeconds)
    }

    /// Serves until SIGTERM or SIGINT (SIGHUP re-reads the TLS certificates, when a host
    /// has one), then stops: no new connections, requests in flight
    /// finish (at most `shutdown_timeout_seconds`, after which what is left is cancelled),
    /// then the stores' last writes and the clients. A stop on a signal is a clean one.
    public func run() async throws {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(2)
        // Past the timeout the group cancels what is left and returns: still a stop on a
        // signal. A service that fails (a port that cannot be bound) is thrown, exit 1.
        try await ServiceGroup(configuration: configuration).run()
    }
}

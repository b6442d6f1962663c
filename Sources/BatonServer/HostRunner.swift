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
    public let loginStore: SQLiteStore?
    let services: [any Service]
    let logger = Logger(label: "baton")

    /// Builds the hosts; fails with a ``ConfigurationError`` naming the bad field.
    public init(login: LoginHostFile?, relyingParties: [RelyingPartyFile]) async throws {
        // A service group shuts down in reverse order: the HTTP servers first (requests
        // in flight finish, back-channel calls included), then the pruner, then the client.
        var services: [any Service] = []
        var stores: [PruneService.Target] = []
        var loginStore: SQLiteStore?
        var servers: [any Service] = []
        if let login {
            let http = BackChannelClient.makeHTTPClient()
            services.append(HTTPClientService(client: http))
            let (host, store) = try await HostAssembly.loginHost(login, http: http)
            if let dispatcher = host.logoutDispatcher { services.append(dispatcher) }
            services.append(SessionReaperService(host: host, logger: Logger(label: "baton.login.reaper")))
            servers.append(HostAssembly.application(router: host.router(), listen: login.listen, logger: Logger(label: "baton.login")))
            stores.append((store, [:]))
            loginStore = store
        }
        if !relyingParties.isEmpty {
            let http = BackChannelClient.makeHTTPClient()
            services.append(HTTPClientService(client: http))
            var gates: [SessionGate] = []
            for file in relyingParties {
                let (host, store) = try await HostAssembly.relyingParty(file, http: http)
                servers.append(
                    HostAssembly.application(
                        router: host.router(), listen: file.listen, logger: Logger(label: "baton.rp.\(file.host.clientID)")))
                stores.append((store, [file.host.clientID: file.host.sessionIdleTimeout]))
                gates.append(host.gate)
            }
            // Stopped after the servers: the last requests' activity is written too.
            services.append(SessionGateFlushService(gates: gates, logger: Logger(label: "baton.rp.activity")))
        }
        services.append(PruneService(targets: stores, logger: Logger(label: "baton.prune")))
        self.services = services + servers
        self.loginStore = loginStore
    }

    /// Serves until a signal arrives.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

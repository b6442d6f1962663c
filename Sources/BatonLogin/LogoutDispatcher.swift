import AsyncHTTPClient
import BatonCore
import BatonWeb
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers back-channel logout tokens to relying parties (PROTOCOL.md `POST
/// /sso/backchannel-logout`). Deliveries live in the store, so they survive a
/// restart; each is retried with capped exponential backoff and jitter until the
/// relying party acknowledges it or its sessions would have expired anyway. Nobody
/// waits on a delivery: a logout page answers at once and the dispatcher is poked.
public actor LogoutDispatcher: Service {
    public typealias Mint = @Sendable (_ audience: String, _ sid: String) async throws -> String

    let store: any LogoutDeliveryStore
    let clients: ClientRegistry
    let mint: Mint
    let http: HTTPClient
    let clock: any BatonClock
    let logger: Logger
    let metrics: HostMetrics?
    /// How often the queue is looked at without a poke (deliveries queued by the CLI,
    /// retries coming due).
    public let pollInterval: Duration
    /// The longest wait between two attempts.
    public let maximumBackoff: TimeInterval
    private var running = false

    /// A dispatcher for `clients`, minting with `mint` and posting with `http`.
    public init(
        store: any LogoutDeliveryStore, clients: ClientRegistry, mint: @escaping Mint, http: HTTPClient,
        clock: any BatonClock, logger: Logger, metrics: HostMetrics? = nil, pollInterval: Duration = .milliseconds(250),
        maximumBackoff: TimeInterval = 300
    ) {
        self.store = store
        self.clients = clients
        self.mint = mint
        self.http = http
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
        self.pollInterval = pollInterval
        self.maximumBackoff = maximumBackoff
    }

    /// Polls the queue until graceful shutdown.
    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await deliverDue()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
        }
    }

    /// Delivers now whatever is due, without waiting for the next poll.
    public nonisolated func poke() {
        Task { await self.deliverDue() }
    }

    /// Sends every delivery that is due; returns how many were acknowledged.
    @discardableResult
    public func deliverDue() async -> Int {
        guard !running else { return 0 }
        running = true
        defer { running = false }
        let due: [LogoutDelivery]
        do {
            due = try await store.dueLogoutDeliveries(now: clock.now(), limit: 100)
        } catch {
            logger.error("logout queue unreadable", metadata: ["error": .string(String(describing: error))])
            return 0
        }
        // Each relying party in parallel: one that hangs does not hold up the others.
        return await withTaskGroup(of: Bool.self) { group in
            for delivery in due {
                group.addTask { await self.attempt(delivery) }
            }
            var acknowledged = 0
            for await ok in group where ok { acknowledged += 1 }
            return acknowledged
        }
    }

    private func attempt(_ delivery: LogoutDelivery) async -> Bool {
        let now = clock.now()
        guard let client = clients.clients[delivery.clientID], let uri = client.backChannelLogoutURI else {
            // Nothing to send to: the relying party relies on revalidation.
            try? await store.removeLogoutDelivery(id: delivery.id)
            return false
        }
        guard now < delivery.deadline else {
            logger.notice("logout delivery given up: the sessions have expired", metadata: meta(delivery))
            try? await store.removeLogoutDelivery(id: delivery.id)
            return false
        }
        let failure: String
        do {
            let token = try await mint(delivery.clientID, delivery.sid)
            var request = HTTPClientRequest(url: uri)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: "logout_token=" + token))
            let response = try await http.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 16 * 1024)
            if (200..<300).contains(response.status.code) {
                try await store.removeLogoutDelivery(id: delivery.id)
                metrics?.count("baton_logout_deliveries", [("result", "acknowledged")])
                logger.info("logout delivered", metadata: meta(delivery))
                return true
            }
            failure = "HTTP \(response.status.code)"
        } catch {
            failure = String(describing: type(of: error))
        }
        let attempts = delivery.attempts + 1
        let next = now.addingTimeInterval(backoff(afterAttempts: attempts))
        metrics?.count("baton_logout_deliveries", [("result", "retry")])
        logger.warning(
            "logout delivery failed; will retry", metadata: meta(delivery).merging(["error": .string(failure), "attempts": "\(attempts)"]) { $1 })
        try? await store.rescheduleLogoutDelivery(id: delivery.id, attempts: attempts, nextAttemptAt: next, lastError: failure)
        return false
    }

    /// 1, 2, 4 … seconds, capped, with jitter so relying parties coming back are not
    /// hit by every login host at once.
    nonisolated func backoff(afterAttempts attempts: Int) -> TimeInterval {
        let exponential = min(maximumBackoff, pow(2, Double(min(attempts, 30) - 1)))
        return exponential * Double.random(in: 0.5...1.0)
    }

    private nonisolated func meta(_ delivery: LogoutDelivery) -> Logger.Metadata {
        ["client_id": .string(delivery.clientID), "sid": .string(Secrets.fingerprint(delivery.sid))]
    }
}

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
///
/// Each delivery is its own task in a bounded pool, with no batch to wait for: a
/// relying party that hangs holds only the slots of its own deliveries (at most
/// ``maximumConcurrentDeliveriesPerClient``) until they time out, while every other
/// relying party's logouts go out as soon as they are queued. A delivery under way is
/// never started a second time.
public actor LogoutDispatcher: Service {
    public typealias Mint = @Sendable (_ audience: String, _ sid: String) async throws -> String

    let store: any LogoutDeliveryStore
    let clients: ClientRegistry
    let mint: Mint
    let http: HTTPClient
    let clock: any BatonClock
    let logger: Logger
    /// `baton_logout_deliveries_total`, when the dispatcher reports to a host's metrics.
    let counters: LoginMetrics.Deliveries?
    /// How often the queue is looked at without a poke (deliveries queued by the CLI,
    /// retries coming due).
    public let pollInterval: Duration
    /// The longest wait between two attempts.
    public let maximumBackoff: TimeInterval
    /// How long one attempt may take before it counts as failed.
    public let attemptTimeout: TimeAmount
    /// How long a claimed delivery is kept from other dispatchers: its attempt, and a margin.
    var claimLease: TimeInterval { TimeInterval(attemptTimeout.nanoseconds) / 1e9 + 25 }
    /// Deliveries under way at once, across relying parties: bounds the connections
    /// and tasks a mass sign-out can open.
    public let maximumConcurrentDeliveries: Int
    /// Deliveries under way at once to one relying party: one that hangs ties up no
    /// more than these, and never another relying party's slots.
    public let maximumConcurrentDeliveriesPerClient: Int

    /// The deliveries under way, by id.
    private var inFlight: [Int64: (clientID: String, task: Task<Bool, Never>)] = [:]
    /// The look at the queue under way, which concurrent callers join rather than
    /// repeat; it looks again when asked to meanwhile (``rescan``).
    private var scanning: Task<[Task<Bool, Never>], Never>?
    private var rescan = false
    /// Deliveries that finished while the queue was being read: the read may predate
    /// their removal, and they must not start again from it.
    private var settledDuringScan: Set<Int64> = []
    /// The last look left due deliveries behind (the pool or a client was full).
    private var leftBehind = false

    /// A dispatcher for `clients`, minting with `mint` and posting with `http`.
    public init(
        store: any LogoutDeliveryStore, clients: ClientRegistry, mint: @escaping Mint, http: HTTPClient,
        clock: any BatonClock, logger: Logger, metrics: HostMetrics? = nil, pollInterval: Duration = .milliseconds(250),
        maximumBackoff: TimeInterval = 300, attemptTimeout: TimeAmount = .seconds(5), maximumConcurrentDeliveries: Int = 32,
        maximumConcurrentDeliveriesPerClient: Int = 4
    ) {
        self.store = store
        self.clients = clients
        self.mint = mint
        self.http = http
        self.clock = clock
        self.logger = logger
        self.counters = metrics.map(LoginMetrics.Deliveries.init)
        self.pollInterval = pollInterval
        self.maximumBackoff = maximumBackoff
        self.attemptTimeout = attemptTimeout
        self.maximumConcurrentDeliveries = max(1, maximumConcurrentDeliveries)
        self.maximumConcurrentDeliveriesPerClient = max(1, min(maximumConcurrentDeliveriesPerClient, maximumConcurrentDeliveries))
    }

    /// Polls the queue until graceful shutdown, then lets the attempts under way end
    /// (each within ``attemptTimeout``).
    public func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            _ = await startDue()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.pollInterval) }
        }
        for task in inFlight.values.map(\.task) { _ = await task.value }
    }

    /// Starts whatever is due now, without waiting for the next poll or for anything.
    public nonisolated func poke() {
        Task { _ = await self.startDue() }
    }

    /// Starts every delivery that is due and waits for it, and for those already under
    /// way; returns how many of them were acknowledged.
    @discardableResult
    public func deliverDue() async -> Int {
        var tasks = await startDue()
        tasks += inFlight.values.map(\.task)
        var acknowledged = 0
        // A task may be listed twice (started now, still in flight): count it once.
        var seen = Set<Task<Bool, Never>>()
        for task in tasks where seen.insert(task).inserted {
            if await task.value { acknowledged += 1 }
        }
        return acknowledged
    }

    /// The deliveries started by the look at the queue that this call ran or joined.
    private func startDue() async -> [Task<Bool, Never>] {
        if let scanning {
            rescan = true
            return await scanning.value
        }
        let task = Task { await self.scanUntilSettled() }
        scanning = task
        return await task.value
    }

    private func scanUntilSettled() async -> [Task<Bool, Never>] {
        var started: [Task<Bool, Never>] = []
        repeat {
            rescan = false
            settledDuringScan = []
            started += await scanOnce()
        } while rescan
        // No suspension between the last look and this: a caller arriving now starts a new one.
        scanning = nil
        return started
    }

    private func scanOnce() async -> [Task<Bool, Never>] {
        let room = maximumConcurrentDeliveries - inFlight.count
        guard room > 0 else {
            leftBehind = true
            return []
        }
        let due: [LogoutDelivery]
        do {
            // Claimed: no other dispatcher (a replica) attempts these until the lease ends.
            let now = clock.now()
            let full = Set(inFlight.values.map(\.clientID).filter { client in
                inFlight.values.count(where: { $0.clientID == client }) >= maximumConcurrentDeliveriesPerClient
            })
            due = try await store.claimDueLogoutDeliveries(
                now: now, limit: room, perClient: maximumConcurrentDeliveriesPerClient, excludedClients: full,
                leaseUntil: now.addingTimeInterval(claimLease))
            leftBehind = due.count == room
        } catch {
            logger.event(.storeUnavailable, "logout queue unreadable", metadata: ["error": .string(String(describing: error))])
            return []
        }
        var started: [Task<Bool, Never>] = []
        // From the read to the last start, nothing suspends: no other look at the
        // queue can start the same delivery in between.
        var released: [LogoutDelivery] = []
        for delivery in due where inFlight[delivery.id] == nil && !settledDuringScan.contains(delivery.id) {
            guard inFlight.count < maximumConcurrentDeliveries,
                inFlight.values.count(where: { $0.clientID == delivery.clientID }) < maximumConcurrentDeliveriesPerClient
            else {
                leftBehind = true
                released.append(delivery)
                continue
            }
            let task = Task {
                let acknowledged = await self.attempt(delivery)
                self.settled(delivery.id)
                return acknowledged
            }
            inFlight[delivery.id] = (delivery.clientID, task)
            started.append(task)
        }
        // Claimed but no slot here: due again now, for whichever dispatcher has one.
        for delivery in released {
            try? await store.rescheduleLogoutDelivery(
                id: delivery.id, attempts: delivery.attempts, nextAttemptAt: delivery.nextAttemptAt, lastError: delivery.lastError ?? "")
        }
        return started
    }

    /// A delivery is done (acknowledged, rescheduled or given up): its slot is free,
    /// and whatever waited for one may start.
    private func settled(_ id: Int64) {
        inFlight[id] = nil
        if scanning != nil { settledDuringScan.insert(id) }
        if leftBehind { poke() }
    }

    private func attempt(_ delivery: LogoutDelivery) async -> Bool {
        let now = clock.now()
        guard let client = clients.clients[delivery.clientID], let uri = client.backChannelLogoutURI else {
            // Nothing to send to: the relying party relies on revalidation.
            try? await store.removeLogoutDelivery(id: delivery.id)
            return false
        }
        guard now < delivery.deadline else {
            counters?.givenUp.increment()
            logger.event(.logoutDeliveryGivenUp, level: .notice, "logout delivery given up: the sessions have expired", metadata: meta(delivery))
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
            let response = try await http.execute(request, timeout: attemptTimeout)
            _ = try? await response.body.collect(upTo: 16 * 1024)
            if (200..<300).contains(response.status.code) {
                try await store.removeLogoutDelivery(id: delivery.id)
                counters?.sent.increment()
                logger.event(.logoutDelivered, level: .info, "logout delivered", metadata: meta(delivery))
                return true
            }
            failure = "HTTP \(response.status.code)"
        } catch {
            failure = String(describing: type(of: error))
        }
        let attempts = delivery.attempts + 1
        let next = now.addingTimeInterval(backoff(afterAttempts: attempts))
        counters?.failed.increment()
        logger.event(
            .logoutDeliveryFailed, "logout delivery failed; will retry",
            metadata: meta(delivery).merging(["error": .string(failure), "attempts": "\(attempts)"]) { $1 })
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

import BatonCore
import BatonWeb
import Foundation
import Prometheus

/// A login host's metrics, every handle made when the host is built: a sign-in, a mint
/// or a back-channel lookup counts with an atomic add, a mint times itself with two
/// more. Client ids come from configuration, so they may be labels.
struct LoginMetrics: Sendable {
    static let signIns = MetricName(
        "baton_sign_ins", unit: "total", help: "Sign-in attempts at POST /login by outcome: accepted, refused, throttled, busy")
    static let throttle = MetricName(
        "baton_sign_in_throttle", unit: "total",
        help: "Sign-in attempts the throttle acted on: refused (429, no password checked) or delayed (a username failing from many addresses)")
    static let mints = MetricName("baton_handoffs_minted", unit: "total", help: "Handoff tokens minted, by client_id")
    static let mintDuration = MetricName("baton_mint_duration", unit: "seconds", help: "Time to sign one handoff token")
    static let handoffRefused = MetricName(
        "baton_handoff_refused", unit: "total",
        help: "GET /handoff requests refused with a 400 page by reason: unknown_client, unregistered_redirect_uri, invalid_state, duplicate_parameter")
    static let lookups = MetricName(
        "baton_backchannel_lookups", unit: "total",
        help: "GET /api/sessions lookups by relying parties by result: answered, not_found, refused (wrong client credentials), unavailable")
    static let deliveries = MetricName(
        "baton_logout_deliveries", unit: "total", help: "Back-channel logout delivery attempts by result: sent, failed, given_up")
    static let pending = MetricName(
        "baton_logout_deliveries_pending", unit: "", help: "Back-channel logouts queued in the store and not yet acknowledged, read at each scrape")
    static let oldestPending = MetricName(
        "baton_logout_delivery_oldest_pending", unit: "seconds",
        help: "Age of the oldest back-channel logout still queued (0 when none), read at each scrape")

    struct SignIns: Sendable {
        let accepted: Counter
        let refused: Counter
        let throttled: Counter
        let busy: Counter
    }

    struct Lookups: Sendable {
        let answered: Counter
        let notFound: Counter
        let refused: Counter
        let unavailable: Counter
    }

    /// The back-channel logout dispatcher's counters.
    struct Deliveries: Sendable {
        let sent: Counter
        let failed: Counter
        let givenUp: Counter

        init(_ host: HostMetrics) {
            sent = host.counter(LoginMetrics.deliveries, [("result", "sent")])
            failed = host.counter(LoginMetrics.deliveries, [("result", "failed")])
            givenUp = host.counter(LoginMetrics.deliveries, [("result", "given_up")])
        }
    }

    let host: HostMetrics
    let signIns: SignIns
    let throttleRefused: Counter
    let throttleDelayed: Counter
    /// By client id, one series for each registered client.
    let mints: [String: Counter]
    let mintDuration: LatencyHistogram
    let lookups: Lookups
    let store: StoreMetrics

    init(_ host: HostMetrics, clients: ClientRegistry) {
        self.host = host
        signIns = SignIns(
            accepted: host.counter(Self.signIns, [("outcome", "accepted")]), refused: host.counter(Self.signIns, [("outcome", "refused")]),
            throttled: host.counter(Self.signIns, [("outcome", "throttled")]), busy: host.counter(Self.signIns, [("outcome", "busy")]))
        throttleRefused = host.counter(Self.throttle, [("action", "refused")])
        throttleDelayed = host.counter(Self.throttle, [("action", "delayed")])
        mints = Dictionary(uniqueKeysWithValues: clients.clients.keys.map { ($0, host.counter(Self.mints, [("client_id", $0)])) })
        mintDuration = host.histogram(Self.mintDuration)
        lookups = Lookups(
            answered: host.counter(Self.lookups, [("result", "answered")]), notFound: host.counter(Self.lookups, [("result", "not_found")]),
            refused: host.counter(Self.lookups, [("result", "refused")]),
            unavailable: host.counter(Self.lookups, [("result", "unavailable")]))
        store = StoreMetrics(host, operations: StoreOperation.loginHost)
    }

    /// Reads the logout queue's size and oldest entry from `store` at each scrape: the
    /// queue lives in the store, so every replica reports the same backlog.
    func watchBacklog(of store: any LogoutDeliveryStore, clock: any BatonClock) {
        let pending = host.gauge(Self.pending)
        let oldest = host.gauge(Self.oldestPending)
        host.onScrape {
            guard let backlog = try? await store.logoutBacklog() else { return }
            pending.set(to: Double(backlog.pending))
            oldest.set(to: backlog.oldestQueuedAt.map { max(0, clock.now().timeIntervalSince($0)) } ?? 0)
        }
    }
}

/// The sign-in throttle, what it does counted (`baton_sign_in_throttle_total`).
struct CountedThrottle: SignInThrottling {
    let base: any SignInThrottling
    let refused: Counter
    let delayed: Counter

    var limits: LoginThrottle.Limits { base.limits }

    func reserve(username: String, address: String) async throws -> LoginThrottle.Reservation? {
        guard let reservation = try await base.reserve(username: username, address: address) else {
            refused.increment()
            return nil
        }
        if reservation.delay > .zero { delayed.increment() }
        return reservation
    }

    func settle(_ reservation: LoginThrottle.Reservation, as settlement: LoginThrottle.Settlement) async throws {
        try await base.settle(reservation, as: settlement)
    }

    func recordFailure(username: String, address: String) async throws {
        try await base.recordFailure(username: username, address: address)
    }
}

import BatonCore
import BatonWeb
import Logging
import Prometheus

/// A relying party's metrics, every handle made when the host is built: a redemption or
/// a forward-auth check counts with an atomic add and times itself with two more.
struct RelyingPartyMetrics: Sendable {
    static let redemptions = MetricName(
        "baton_redemptions", unit: "total", help: "Redemptions at /sso/callback by result: ok, reload, or the Baton-Error code")
    static let replays = MetricName(
        "baton_replays", unit: "total", help: "Tokens presented again after their jti was burned, by kind: handoff or logout")
    static let redemptionDuration = MetricName(
        "baton_redemption_duration", unit: "seconds", help: "Time to redeem a handoff token at /sso/callback, refusals included")
    static let forwardAuthChecks = MetricName(
        "baton_forward_auth_checks", unit: "total",
        help: "Forward-auth checks at /sso/auth by result: ok, signed_out, redirected, not_permitted, store_unavailable")
    static let forwardAuthDuration = MetricName(
        "baton_forward_auth_duration", unit: "seconds", help: "Time to answer a forward-auth check at /sso/auth")
    static let lookups = MetricName(
        "baton_backchannel_lookups", unit: "total",
        help: "Session lookups this relying party made at the login host's /api/sessions by result: ok, ended, unavailable")
    static let jwksFetches = MetricName(
        "baton_jwks_fetches", unit: "total", help: "Fetches of the login host's JWKS by result: ok, failed")
    static let backChannelLogouts = MetricName(
        "baton_backchannel_logouts", unit: "total", help: "Back-channel logout tokens received by result: ok, or the Baton-Error code")
    static let sessionsEnded = MetricName(
        "baton_rp_sessions_ended", unit: "total",
        help: "Sessions the gate ended by reason: expired, idle, login_session_ended, login_host_unreachable")

    let redeemedOK: Counter
    let reloaded: Counter
    let refused: [BatonError: Counter]
    let handoffReplays: Counter
    let logoutReplays: Counter
    let redemptionDuration: LatencyHistogram
    let forwardAuth: ForwardAuthCounters
    let forwardAuthDuration: LatencyHistogram
    let logoutsOK: Counter
    let logoutsRefused: [BatonError: Counter]
    let sessionsEnded: [SessionGate.Ending: Counter]
    let store: StoreMetrics
    let lookups: LookupCounters
    let host: HostMetrics

    /// What `/sso/auth` answered.
    enum ForwardAuthResult: String, CaseIterable, Sendable {
        case ok, redirected
        case signedOut = "signed_out"
        case notPermitted = "not_permitted"
        case storeUnavailable = "store_unavailable"
    }

    /// `baton_forward_auth_checks_total` by result, picked by a switch: the check runs on
    /// every request a proxy passes, so no dictionary (and no string hashing) there.
    struct ForwardAuthCounters: Sendable {
        let ok: Counter
        let redirected: Counter
        let signedOut: Counter
        let notPermitted: Counter
        let storeUnavailable: Counter

        init(_ host: HostMetrics) {
            func counter(_ result: ForwardAuthResult) -> Counter {
                host.counter(RelyingPartyMetrics.forwardAuthChecks, [("result", result.rawValue)])
            }
            ok = counter(.ok)
            redirected = counter(.redirected)
            signedOut = counter(.signedOut)
            notPermitted = counter(.notPermitted)
            storeUnavailable = counter(.storeUnavailable)
        }

        subscript(result: ForwardAuthResult) -> Counter {
            switch result {
            case .ok: ok
            case .redirected: redirected
            case .signedOut: signedOut
            case .notPermitted: notPermitted
            case .storeUnavailable: storeUnavailable
            }
        }
    }

    /// The back channel's answers to this relying party's lookups.
    struct LookupCounters: Sendable {
        let ok: Counter
        let ended: Counter
        let unavailable: Counter
    }

    init(_ host: HostMetrics) {
        self.host = host
        redeemedOK = host.counter(Self.redemptions, [("result", "ok")])
        reloaded = host.counter(Self.redemptions, [("result", "reload")])
        refused = Dictionary(uniqueKeysWithValues: BatonError.allCases.map { ($0, host.counter(Self.redemptions, [("result", $0.code)])) })
        handoffReplays = host.counter(Self.replays, [("token", "handoff")])
        logoutReplays = host.counter(Self.replays, [("token", "logout")])
        redemptionDuration = host.histogram(Self.redemptionDuration)
        forwardAuth = ForwardAuthCounters(host)
        forwardAuthDuration = host.histogram(Self.forwardAuthDuration)
        logoutsOK = host.counter(Self.backChannelLogouts, [("result", "ok")])
        logoutsRefused = Dictionary(
            uniqueKeysWithValues: BatonError.allCases.map { ($0, host.counter(Self.backChannelLogouts, [("result", $0.code)])) })
        sessionsEnded = Dictionary(
            uniqueKeysWithValues: [SessionGate.Ending.expired, .idle, .loginSessionEnded, .loginHostUnreachable].map {
                ($0, host.counter(Self.sessionsEnded, [("reason", $0.rawValue)]))
            })
        store = StoreMetrics(host, operations: StoreOperation.relyingParty)
        lookups = LookupCounters(
            ok: host.counter(Self.lookups, [("result", "ok")]), ended: host.counter(Self.lookups, [("result", "ended")]),
            unavailable: host.counter(Self.lookups, [("result", "unavailable")]))
    }
}

/// The login host's session directory, each answer counted
/// (`baton_backchannel_lookups_total`): redemptions and revalidations both ask here.
struct CountedDirectory: LoginSessionDirectory {
    let base: any LoginSessionDirectory
    let counters: RelyingPartyMetrics.LookupCounters

    func lookUp(sid: String) async throws(BatonError) -> SessionInfo {
        do {
            let info = try await base.lookUp(sid: sid)
            counters.ok.increment()
            return info
        } catch .sessionEnded {
            counters.ended.increment()
            throw .sessionEnded
        } catch {
            counters.unavailable.increment()
            throw error
        }
    }
}

extension RelyingPartyHost {
    /// `fetch`, each call counted in `metrics` (`baton_jwks_fetches_total`) and a failure
    /// logged as `jwks_fetch_failed`: a relying party that cannot refresh the login
    /// host's keys refuses every token once its cached keys are too old.
    public static func counting(
        jwksFetch fetch: @escaping TrustedKeySet.CacheableFetch, in metrics: HostMetrics, logger: Logger
    ) -> TrustedKeySet.CacheableFetch {
        let ok = metrics.counter(RelyingPartyMetrics.jwksFetches, [("result", "ok")])
        let failed = metrics.counter(RelyingPartyMetrics.jwksFetches, [("result", "failed")])
        return {
            do {
                let fetched = try await fetch()
                ok.increment()
                return fetched
            } catch {
                failed.increment()
                logger.event(.jwksFetchFailed, "fetching the login host's JWKS failed", metadata: ["error": .string(String(describing: type(of: error)))])
                throw error
            }
        }
    }
}

import BatonCore
import Foundation
import Prometheus

/// A store operation, by a fixed name: the `operation` label of the store metrics.
public enum StoreOperation: Int, CaseIterable, Sendable {
    case insertUser, userByName, userByID, users, updatePasswordHash, updateUser
    case insertLoginSession, loginSessionBySecret, loginSessionBySID, touchLoginSession, endLoginSession, loginSessions
    case staleLoginSessions, recordHandoff, clientsHandedTo, sessionForLookup
    case claimLogoutDeliveries, pendingLogoutDeliveries, logoutBacklog, rescheduleLogoutDelivery, removeLogoutDelivery
    case burn, burnCreatingSession, isBurned, pruneUsedTokens
    case insertRPSession, rpSession, deleteRPSession, deleteRPSessions, refreshRPSessions
    case keyRing, updateKeyRing, probe

    /// The label value: `burn_creating_session`.
    public var name: String {
        switch self {
        case .insertUser: "insert_user"
        case .userByName: "user_by_name"
        case .userByID: "user_by_id"
        case .users: "users"
        case .updatePasswordHash: "update_password_hash"
        case .updateUser: "update_user"
        case .insertLoginSession: "insert_login_session"
        case .loginSessionBySecret: "login_session_by_secret"
        case .loginSessionBySID: "login_session_by_sid"
        case .touchLoginSession: "touch_login_session"
        case .endLoginSession: "end_login_session"
        case .loginSessions: "login_sessions"
        case .staleLoginSessions: "stale_login_sessions"
        case .recordHandoff: "record_handoff"
        case .clientsHandedTo: "clients_handed_to"
        case .sessionForLookup: "session_for_lookup"
        case .claimLogoutDeliveries: "claim_logout_deliveries"
        case .pendingLogoutDeliveries: "pending_logout_deliveries"
        case .logoutBacklog: "logout_backlog"
        case .rescheduleLogoutDelivery: "reschedule_logout_delivery"
        case .removeLogoutDelivery: "remove_logout_delivery"
        case .burn: "burn"
        case .burnCreatingSession: "burn_creating_session"
        case .isBurned: "is_burned"
        case .pruneUsedTokens: "prune_used_tokens"
        case .insertRPSession: "insert_rp_session"
        case .rpSession: "rp_session"
        case .deleteRPSession: "delete_rp_session"
        case .deleteRPSessions: "delete_rp_sessions"
        case .refreshRPSessions: "refresh_rp_sessions"
        case .keyRing: "key_ring"
        case .updateKeyRing: "update_key_ring"
        case .probe: "probe"
        }
    }

    /// What a login host asks of its store.
    public static let loginHost: [StoreOperation] = [
        .insertUser, .userByName, .userByID, .users, .updatePasswordHash, .updateUser, .insertLoginSession,
        .loginSessionBySecret, .loginSessionBySID, .touchLoginSession, .endLoginSession, .loginSessions, .staleLoginSessions,
        .recordHandoff, .clientsHandedTo, .sessionForLookup, .claimLogoutDeliveries, .pendingLogoutDeliveries, .logoutBacklog,
        .rescheduleLogoutDelivery, .removeLogoutDelivery, .keyRing, .updateKeyRing, .probe,
    ]
    /// What a relying party asks of its store.
    public static let relyingParty: [StoreOperation] = [
        .burn, .burnCreatingSession, .isBurned, .pruneUsedTokens, .insertRPSession, .rpSession, .deleteRPSession,
        .deleteRPSessions, .refreshRPSessions, .probe,
    ]
}

/// One host's store metrics: `baton_store_operations_total`, `baton_store_errors_total`
/// and `baton_store_operation_duration_seconds`, by operation. Every handle is made when
/// the host is built, so an operation costs two clock reads and three relaxed atomic
/// adds — no lock, nothing allocated, and no executor hop (the wrapper is nonisolated,
/// as the stores are, and awaits the store in the caller's task).
public struct StoreMetrics: Sendable {
    public static let operationsName = MetricName(
        "baton_store_operations", unit: "total", help: "Store operations this host asked for, by operation")
    public static let errorsName = MetricName(
        "baton_store_errors", unit: "total", help: "Store operations that failed (I/O, lock timeout, unreachable server), by operation")
    public static let durationName = MetricName(
        "baton_store_operation_duration", unit: "seconds", help: "Time from asking the store to its answer, by operation")

    struct Handles: Sendable {
        let operations: Counter
        let errors: Counter
        let duration: LatencyHistogram
    }

    /// By ``StoreOperation/rawValue``; nil for an operation this host does not use.
    let handles: [Handles?]

    /// Handles in `metrics` for `operations`.
    public init(_ metrics: HostMetrics, operations: [StoreOperation]) {
        var handles = [Handles?](repeating: nil, count: StoreOperation.allCases.count)
        for operation in operations {
            let labels = [("operation", operation.name)]
            handles[operation.rawValue] = Handles(
                operations: metrics.counter(Self.operationsName, labels), errors: metrics.counter(Self.errorsName, labels),
                duration: metrics.histogram(Self.durationName, labels))
        }
        self.handles = handles
    }

    /// Runs `body`, counted and timed as `operation`.
    @inline(__always)
    func measure<T>(_ operation: StoreOperation, _ body: () async throws -> T) async throws -> T {
        guard let handles = handles[operation.rawValue] else { return try await body() }
        let start = ContinuousClock.now
        defer {
            handles.duration.record(ContinuousClock.now - start)
            handles.operations.increment()
        }
        do {
            return try await body()
        } catch {
            handles.errors.increment()
            throw error
        }
    }

    /// `store`, counted and timed here.
    public func instrument(_ store: some LoginHostStore & StoreProbe) -> any LoginHostStore & StoreProbe {
        InstrumentedStore(base: store, metrics: self)
    }

    /// `store`, counted and timed here.
    public func instrument(_ store: some RelyingPartyStore & StoreProbe) -> any RelyingPartyStore & StoreProbe {
        InstrumentedStore(base: store, metrics: self)
    }

    /// `store`, counted and timed here.
    public func instrument(_ store: some KeyRingStore) -> any KeyRingStore {
        InstrumentedStore(base: store, metrics: self)
    }
}

/// A store whose every operation is counted, timed and, when it throws, counted as an
/// error: it forwards to `base` and changes nothing else.
struct InstrumentedStore<Base: Sendable>: Sendable {
    let base: Base
    let metrics: StoreMetrics
}

extension InstrumentedStore: UserStore where Base: UserStore {
    func insertUser(_ user: User) async throws { try await metrics.measure(.insertUser) { try await base.insertUser(user) } }
    func user(username: String) async throws -> User? {
        try await metrics.measure(.userByName) { try await base.user(username: username) }
    }
    func user(id: String) async throws -> User? { try await metrics.measure(.userByID) { try await base.user(id: id) } }
    func users() async throws -> [User] { try await metrics.measure(.users) { try await base.users() } }
    func updatePasswordHash(username: String, passwordHash: String) async throws -> Bool {
        try await metrics.measure(.updatePasswordHash) { try await base.updatePasswordHash(username: username, passwordHash: passwordHash) }
    }
    func updateUser(username: String, displayName: String?, email: String?, groups: [String]?) async throws -> Bool {
        try await metrics.measure(.updateUser) {
            try await base.updateUser(username: username, displayName: displayName, email: email, groups: groups)
        }
    }
}

extension InstrumentedStore: LoginSessionStore where Base: LoginSessionStore {
    func insertLoginSession(_ session: LoginSession) async throws {
        try await metrics.measure(.insertLoginSession) { try await base.insertLoginSession(session) }
    }
    func insertLoginSession(_ session: LoginSession, keepingAtMost limit: Int, queueLogoutAt now: Date) async throws -> [String] {
        try await metrics.measure(.insertLoginSession) {
            try await base.insertLoginSession(session, keepingAtMost: limit, queueLogoutAt: now)
        }
    }
    func loginSession(secretHash: String) async throws -> LoginSession? {
        try await metrics.measure(.loginSessionBySecret) { try await base.loginSession(secretHash: secretHash) }
    }
    func loginSession(sid: String) async throws -> LoginSession? {
        try await metrics.measure(.loginSessionBySID) { try await base.loginSession(sid: sid) }
    }
    func touchLoginSession(sid: String, at: Date) async throws {
        try await metrics.measure(.touchLoginSession) { try await base.touchLoginSession(sid: sid, at: at) }
    }
    func endLoginSession(sid: String, queueLogoutAt now: Date) async throws -> [String]? {
        try await metrics.measure(.endLoginSession) { try await base.endLoginSession(sid: sid, queueLogoutAt: now) }
    }
    func loginSessions(userID: String) async throws -> [LoginSession] {
        try await metrics.measure(.loginSessions) { try await base.loginSessions(userID: userID) }
    }
    func staleLoginSessions(now: Date, idleBefore: Date) async throws -> [String] {
        try await metrics.measure(.staleLoginSessions) { try await base.staleLoginSessions(now: now, idleBefore: idleBefore) }
    }
    func recordHandoff(sid: String, clientID: String, at: Date) async throws {
        try await metrics.measure(.recordHandoff) { try await base.recordHandoff(sid: sid, clientID: clientID, at: at) }
    }
    func clientsHandedTo(sid: String) async throws -> [String] {
        try await metrics.measure(.clientsHandedTo) { try await base.clientsHandedTo(sid: sid) }
    }
    func sessionForLookup(sid: String, clientID: String) async throws -> (session: LoginSession, user: User)? {
        try await metrics.measure(.sessionForLookup) { try await base.sessionForLookup(sid: sid, clientID: clientID) }
    }
}

extension InstrumentedStore: LogoutDeliveryStore where Base: LogoutDeliveryStore {
    func claimDueLogoutDeliveries(now: Date, limit: Int, perClient: Int, excludedClients: Set<String>, leaseUntil: Date)
        async throws -> [LogoutDelivery]
    {
        try await metrics.measure(.claimLogoutDeliveries) {
            try await base.claimDueLogoutDeliveries(
                now: now, limit: limit, perClient: perClient, excludedClients: excludedClients, leaseUntil: leaseUntil)
        }
    }
    func pendingLogoutDeliveries() async throws -> [LogoutDelivery] {
        try await metrics.measure(.pendingLogoutDeliveries) { try await base.pendingLogoutDeliveries() }
    }
    func logoutBacklog() async throws -> LogoutBacklog {
        try await metrics.measure(.logoutBacklog) { try await base.logoutBacklog() }
    }
    func rescheduleLogoutDelivery(id: Int64, attempts: Int, nextAttemptAt: Date, lastError: String) async throws {
        try await metrics.measure(.rescheduleLogoutDelivery) {
            try await base.rescheduleLogoutDelivery(id: id, attempts: attempts, nextAttemptAt: nextAttemptAt, lastError: lastError)
        }
    }
    func removeLogoutDelivery(id: Int64) async throws {
        try await metrics.measure(.removeLogoutDelivery) { try await base.removeLogoutDelivery(id: id) }
    }
}

extension InstrumentedStore: UsedTokenStore where Base: UsedTokenStore {
    func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        try await metrics.measure(.burn) { try await base.burn(issuer: issuer, jti: jti, until: until) }
    }
    func isBurned(issuer: String, jti: String) async throws -> Bool {
        try await metrics.measure(.isBurned) { try await base.isBurned(issuer: issuer, jti: jti) }
    }
    func pruneUsedTokens(before: Date) async throws -> Int {
        try await metrics.measure(.pruneUsedTokens) { try await base.pruneUsedTokens(before: before) }
    }
}

extension InstrumentedStore: RPSessionStore where Base: RPSessionStore {
    func insertRPSession(_ session: RPSession) async throws {
        try await metrics.measure(.insertRPSession) { try await base.insertRPSession(session) }
    }
    func rpSession(idHash: String) async throws -> RPSession? {
        try await metrics.measure(.rpSession) { try await base.rpSession(idHash: idHash) }
    }
    func deleteRPSession(idHash: String) async throws -> Bool {
        try await metrics.measure(.deleteRPSession) { try await base.deleteRPSession(idHash: idHash) }
    }
    func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await metrics.measure(.deleteRPSessions) { try await base.deleteRPSessions(loginSID: loginSID, clientID: clientID) }
    }
    func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws {
        try await metrics.measure(.refreshRPSessions) { try await base.refreshRPSessions(refreshes) }
    }
}

extension InstrumentedStore: RelyingPartyStore where Base: RelyingPartyStore {
    func burn(issuer: String, jti: String, until: Date, creating session: RPSession) async throws -> BurnOutcome {
        try await metrics.measure(.burnCreatingSession) { try await base.burn(issuer: issuer, jti: jti, until: until, creating: session) }
    }
}

extension InstrumentedStore: KeyRingStore where Base: KeyRingStore {
    func keyRing() async throws -> SigningKeyRing? { try await metrics.measure(.keyRing) { try await base.keyRing() } }
    func updateKeyRing(_ change: @escaping @Sendable (SigningKeyRing?) throws -> SigningKeyRing) async throws -> SigningKeyRing {
        try await metrics.measure(.updateKeyRing) { try await base.updateKeyRing(change) }
    }
}

extension InstrumentedStore: StoreProbe where Base: StoreProbe {
    func probe() async throws { try await metrics.measure(.probe) { try await base.probe() } }
}

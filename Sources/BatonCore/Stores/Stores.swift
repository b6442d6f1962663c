import Foundation

/// The store failed (I/O, lock timeout, corruption). Callers turn it into
/// `store_unavailable`, never into a success.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// A store failure with a message fit for logs (no secrets in it).
    public init(_ description: String) { self.description = description }
}

/// People who can sign in.
public protocol UserStore: Sendable {
    /// Adds a user; fails when the username is taken.
    func insertUser(_ user: User) async throws
    func user(username: String) async throws -> User?
    func user(id: String) async throws -> User?
    /// Every user, by username.
    func users() async throws -> [User]
    /// Replaces the password hash of an existing user; false when there is none.
    func updatePasswordHash(username: String, passwordHash: String) async throws -> Bool
    /// Changes what is given (nil leaves a field as it is); false when there is no such user.
    func updateUser(username: String, displayName: String?, email: String?, groups: [String]?) async throws -> Bool
}

/// Sessions on the login host, keyed by the hash of their cookie secret.
public protocol LoginSessionStore: Sendable {
    func insertLoginSession(_ session: LoginSession) async throws
    /// Stores a new session of `session.userID`, first ending the user's oldest
    /// sessions (by `auth_time`) so that at most `limit` remain with it, each as
    /// ``endLoginSession(sid:queueLogoutAt:)`` ends one, all in one transaction. Returns
    /// the sids it ended.
    @discardableResult
    func insertLoginSession(_ session: LoginSession, keepingAtMost limit: Int, queueLogoutAt now: Date) async throws -> [String]
    func loginSession(secretHash: String) async throws -> LoginSession?
    func loginSession(sid: String) async throws -> LoginSession?
    func touchLoginSession(sid: String, at: Date) async throws
    /// Ends the session and, in the same transaction, queues a back-channel logout
    /// for every client it was handed to (due at `now`, given up at the session's
    /// absolute expiry, when the clients' sessions end anyway). Returns those clients;
    /// nil when there was no session to end.
    @discardableResult func endLoginSession(sid: String, queueLogoutAt now: Date) async throws -> [String]?
    /// Every session of `userID`, newest first.
    func loginSessions(userID: String) async throws -> [LoginSession]
    /// Sessions idle since before `idleBefore` or past their absolute expiry at `now`.
    func staleLoginSessions(now: Date, idleBefore: Date) async throws -> [String]
    /// Remembers that a token for the session was handed to `clientID`: only such a
    /// client may look the session up over the back channel, and logout reaches each.
    /// Recording it again changes nothing.
    func recordHandoff(sid: String, clientID: String, at: Date) async throws
    /// The clients the session was handed to, by client id.
    func clientsHandedTo(sid: String) async throws -> [String]
    /// What a back-channel lookup by `clientID` needs, in one read: the session and its
    /// user, or nil when there is no such session or it was never handed to `clientID`.
    func sessionForLookup(sid: String, clientID: String) async throws -> (session: LoginSession, user: User)?
}

extension LoginSessionStore where Self: UserStore {
    /// Three reads; an engine does it in one.
    public func sessionForLookup(sid: String, clientID: String) async throws -> (session: LoginSession, user: User)? {
        guard try await clientsHandedTo(sid: sid).contains(clientID), let session = try await loginSession(sid: sid),
            let user = try await user(id: session.userID)
        else { return nil }
        return (session, user)
    }
}

/// Back-channel logout messages still owed to relying parties.
public protocol LogoutDeliveryStore: Sendable {
    /// Claims deliveries due at `now`, oldest first, at most `perClient` of any one client
    /// (one relying party's backlog never hides another's) and none of `excludedClients`:
    /// each claimed row is due again only at `leaseUntil`, so that of several dispatchers
    /// (replicas of one login host) exactly one attempts it, and if that one dies the
    /// delivery falls to another once the lease ends. Returns the rows as they were.
    func claimDueLogoutDeliveries(now: Date, limit: Int, perClient: Int, excludedClients: Set<String>, leaseUntil: Date)
        async throws -> [LogoutDelivery]
    /// Every pending delivery.
    func pendingLogoutDeliveries() async throws -> [LogoutDelivery]
    /// Records a failed attempt and when to try again.
    func rescheduleLogoutDelivery(id: Int64, attempts: Int, nextAttemptAt: Date, lastError: String) async throws
    /// Removes a delivery: acknowledged, or given up.
    func removeLogoutDelivery(id: Int64) async throws
    /// How many deliveries are pending and when the oldest was queued: what `/metrics`
    /// reads at each scrape, without fetching the rows.
    func logoutBacklog() async throws -> LogoutBacklog
}

/// The logout deliveries still owed, in short.
public struct LogoutBacklog: Sendable, Equatable {
    public var pending: Int
    /// When the oldest pending delivery was queued; nil when none is.
    public var oldestQueuedAt: Date?

    public init(pending: Int, oldestQueuedAt: Date?) {
        self.pending = pending
        self.oldestQueuedAt = oldestQueuedAt
    }
}

extension LogoutDeliveryStore {
    /// Every row read; an engine counts them in one query.
    public func logoutBacklog() async throws -> LogoutBacklog {
        let pending = try await pendingLogoutDeliveries()
        return LogoutBacklog(pending: pending.count, oldestQueuedAt: pending.map(\.createdAt).min())
    }
}

/// The used-token store: the heart of single use.
public protocol UsedTokenStore: Sendable {
    /// Atomically records (`issuer`, `jti`) until `until`. Exactly one of any number
    /// of concurrent calls with the same pair gets `.burned`. The row is durable
    /// before this returns.
    func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome
    /// True when (`issuer`, `jti`) has been burned: a read that spares a replay the rest
    /// of the work. Never a substitute for ``burn(issuer:jti:until:)``, which decides.
    func isBurned(issuer: String, jti: String) async throws -> Bool
    /// Removes rows whose `until` has passed; returns how many.
    @discardableResult func pruneUsedTokens(before: Date) async throws -> Int
}

/// Sessions on a relying party, keyed by the hash of their cookie secret.
public protocol RPSessionStore: Sendable {
    /// Stores a new session and, in the same transaction, deletes the oldest of the
    /// same client and subject beyond ``SessionLimits/rpSessionsPerSubject``.
    func insertRPSession(_ session: RPSession) async throws
    func rpSession(idHash: String) async throws -> RPSession?
    @discardableResult func deleteRPSession(idHash: String) async throws -> Bool
    /// Ends every session of `clientID` that came from login session `loginSID`.
    @discardableResult func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int
    /// Writes what requests learned about live sessions, all in one transaction: when
    /// each was last used and, after a revalidation, when the login host last vouched
    /// for it and who it says the person is. Rows that have gone meanwhile are skipped.
    func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws
}

/// What a relying party learned about one of its sessions since it was read.
public struct RPSessionRefresh: Sendable, Equatable {
    public var idHash: String
    public var lastSeen: Date
    /// Set after a successful revalidation.
    public var lastValidated: Date?
    /// Set after a revalidation: the person as the login host describes them now.
    public var identity: Identity?

    public init(idHash: String, lastSeen: Date, lastValidated: Date? = nil, identity: Identity? = nil) {
        self.idHash = idHash
        self.lastSeen = lastSeen
        self.lastValidated = lastValidated
        self.identity = identity
    }
}

/// The login host's key ring when it lives in the store (`signing_keys: "database"`),
/// shared by every replica: each reads it again at least every few seconds, so that a
/// rotation written by one (or by `baton keys rotate`) is published by all within 5 s,
/// and signs only after `key_activation_delay_seconds`, as with a key file.
public protocol KeyRingStore: Sendable {
    /// The ring, or nil before the first key.
    func keyRing() async throws -> SigningKeyRing?
    /// Replaces the ring with `change(current)`, atomically against every other writer
    /// (another replica starting, a rotation): no rotation is lost. Returns the new ring.
    func updateKeyRing(_ change: @escaping @Sendable (SigningKeyRing?) throws -> SigningKeyRing) async throws -> SigningKeyRing
}

/// A store that can say whether it answers: `GET /readyz` (200 only while it does).
public protocol StoreProbe: Sendable {
    /// Throws when the store does not answer, within a few seconds.
    func probe() async throws
}

/// Removing what has expired: every host runs it once a minute.
public protocol Pruning: Sendable {
    /// Removes expired used tokens, sessions and logout deliveries, and relying-party
    /// sessions idle beyond their client's timeout in `idleTimeouts` (by client id) by
    /// more than ``SessionLimits/idlePruneMargin``; returns how many rows.
    @discardableResult func prune(now: Date, idleTimeouts: [String: TimeInterval]) async throws -> Int
}

/// How many rows each of Baton's tables holds, by table name: for tests, growth
/// reports and operators' curiosity.
public protocol RowCounting: Sendable {
    func rowCounts() async throws -> [String: Int]
}

/// Everything the login host keeps.
public typealias LoginHostStore = UserStore & LoginSessionStore & LogoutDeliveryStore

/// Everything one engine keeps, for every kind of host: what the store factory opens
/// from a `database` setting. One database may serve a login host and any number of
/// relying parties at once (their rows keyed by `client_id`).
public typealias BatonStore = LoginHostStore & RelyingPartyStore & KeyRingStore & StoreProbe & Pruning & RowCounting & StoreLifecycle

/// What an engine needs beyond its tables: a connection pool to close at the end, and,
/// for one shared by replicas, a sign-in throttle whose counts it keeps.
public protocol StoreLifecycle: Sendable {
    /// The sign-in throttle every replica on this store shares; nil when the throttle
    /// lives in each process (one machine, one login host).
    func sharedSignInThrottle(limits: LoginThrottle.Limits, clock: any BatonClock) -> (any SignInThrottling)?
    /// Closes what the store holds open; it is not used again.
    func shutdown() async
}

/// Everything a relying party keeps.
public protocol RelyingPartyStore: UsedTokenStore, RPSessionStore {
    /// A successful redemption's one durable write: burns (`issuer`, `jti`) and, only if
    /// this call burned it, creates `session` — in one transaction, committed before this
    /// returns. `.alreadyUsed` creates nothing.
    func burn(issuer: String, jti: String, until: Date, creating session: RPSession) async throws -> BurnOutcome
}

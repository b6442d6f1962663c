import Foundation
import Synchronization

/// The login host's sessions: checking a password, starting a session under a fresh
/// secret, finding it again from the cookie, and ending it.
public struct LoginService: Sendable {
    /// How long a login session lives.
    public struct Timeouts: Sendable, Equatable {
        /// From sign-in, whatever happens.
        public var absolute: TimeInterval
        /// Without a request.
        public var idle: TimeInterval

        /// Timeouts, 12 hours absolute and 2 hours idle by default.
        public init(absolute: TimeInterval = 12 * 3600, idle: TimeInterval = 2 * 3600) {
            self.absolute = absolute
            self.idle = idle
        }
    }

    public let store: any LoginHostStore
    public let hasher: PasswordHasher
    public let clock: any BatonClock
    public let timeouts: Timeouts
    public let throttle: any SignInThrottling
    private let recorded = RecordedHandoffs()
    /// Sessions read by cookie lately: a person's burst of handoffs (one page opening
    /// several relying parties) reads the store once. Ending a session here forgets it
    /// at once; one ended by another process (the CLI, a replica) is seen within a second,
    /// and a token minted meanwhile finds the session gone at the relying party's lookup.
    private let cached: CachedLoginSessions

    /// A service over `store`; a session read by cookie answers from memory for
    /// `cacheLifetime` (tests lengthen it to take timing out of their steps).
    public init(
        store: any LoginHostStore, hasher: PasswordHasher, clock: any BatonClock, timeouts: Timeouts = Timeouts(),
        throttle: (any SignInThrottling)? = nil, cacheLifetime: Duration = CachedLoginSessions.defaultLifetime
    ) {
        self.cached = CachedLoginSessions(lifetime: cacheLifetime)
        self.store = store
        self.hasher = hasher
        self.clock = clock
        self.timeouts = timeouts
        self.throttle = throttle ?? LoginThrottle(clock: clock)
    }

    /// How one sign-in attempt ended.
    public enum SignInAttempt: Sendable, Equatable {
        case accepted(User)
        /// A wrong username or password (one answer for both).
        case refused
        /// Too many recent failures: no password was checked.
        case throttled
        /// Every password-checking slot is taken: try again in a moment.
        case busy
    }

    /// Checks a sign-in from `clientAddress`: the username's length first, then the
    /// throttle's reservation (before any hashing), then the password.
    public func attemptSignIn(username: String, password: String, clientAddress: String) async throws -> SignInAttempt {
        // No user has a longer name: refuse before a key, a query or a hash is spent on it.
        guard username.utf8.count <= Username.maximumLength else {
            try await throttle.recordFailure(username: String(decoding: username.utf8.prefix(Username.maximumLength), as: UTF8.self), address: clientAddress)
            return .refused
        }
        guard let reservation = try await throttle.reserve(username: username, address: clientAddress) else { return .throttled }
        if reservation.delay > .zero { try? await Task.sleep(for: reservation.delay) }
        let outcome: SignInAttempt
        do {
            outcome = try await authenticate(username: username, password: password).map(SignInAttempt.accepted) ?? .refused
        } catch is PasswordHasher.Busy {
            // Not a guess that was checked: it counts as nothing.
            try? await throttle.settle(reservation, as: .uncounted)
            return .busy
        } catch {
            try? await throttle.settle(reservation, as: .uncounted)
            throw error
        }
        try await throttle.settle(reservation, as: outcome == .refused ? .failed : .succeeded)
        return outcome
    }

    /// The user whose password this is, or nil; an unknown username costs the same time.
    /// A hash made at another cost than the configured one is replaced on success.
    public func authenticate(username: String, password: String) async throws -> User? {
        guard username.utf8.count <= Username.maximumLength, let user = try await store.user(username: username) else {
            _ = try await hasher.verifyDecoy(password)
            return nil
        }
        guard try await hasher.verify(password, hash: user.passwordHash) else { return nil }
        if hasher.needsRehash(user.passwordHash) {
            _ = try? await store.updatePasswordHash(username: user.username, passwordHash: await hasher.hash(password))
        }
        return user
    }

    /// Starts a new session for `user` under a new random secret (never an id the
    /// browser brought along: no session fixation). Returns the cookie value. A user
    /// at ``SessionLimits/loginSessionsPerUser`` loses the oldest session first, with
    /// its back-channel logouts queued.
    public func startSession(for user: User, userAgent: String) async throws -> (cookie: String, session: LoginSession) {
        let secret = Secrets.random(bytes: 32)
        let now = clock.now()
        let session = LoginSession(
            sid: Secrets.random(bytes: 18), secretHash: Secrets.hash(secret), userID: user.id,
            authTime: now, lastSeen: now, expiresAt: now.addingTimeInterval(timeouts.absolute),
            userAgent: String(userAgent.prefix(200)))
        try await store.insertLoginSession(session, keepingAtMost: SessionLimits.loginSessionsPerUser, queueLogoutAt: now)
        return (secret, session)
    }

    /// The live session this cookie names, touched; nil for no cookie, an unknown
    /// cookie, or a session past its absolute or idle timeout (which is then ended).
    public func session(cookie: String?) async throws -> LoginSession? {
        guard let cookie, !cookie.isEmpty, cookie.utf8.count <= 256 else { return nil }
        let secretHash = Secrets.hash(cookie)
        let session: LoginSession
        if let fresh = cached.session(secretHash: secretHash) {
            session = fresh
        } else {
            guard let stored = try await store.loginSession(secretHash: secretHash) else { return nil }
            session = stored
        }
        let live = try await live(session)
        if let live { cached.keep(live) } else { cached.forget(sid: session.sid) }
        return live
    }

    /// The session ``session(cookie:)`` would give, when memory alone can say so: it is
    /// cached and fresh there, live, and not due for its touch. Nil otherwise, with
    /// nothing read, ended or written: then ask ``session(cookie:)``. For a caller that
    /// must not wait.
    public func sessionInHand(cookie: String?) -> LoginSession? {
        guard let cookie, !cookie.isEmpty, cookie.utf8.count <= 256, let session = cached.session(secretHash: Secrets.hash(cookie))
        else { return nil }
        let now = clock.now()
        guard isLive(session, at: now), !touchDue(session, at: now) else { return nil }
        return session
    }

    /// Whether ``recordHandoff(sid:to:)`` has nothing to write: this process wrote it.
    public func handoffRecorded(sid: String, to clientID: String) -> Bool {
        recorded.contains(sid + " " + clientID)
    }

    /// The live session with public handle `sid`, or nil. Asking is not activity: a
    /// relying party's lookups never keep a login session alive, since one could ask
    /// long after the person has gone; only the person's own requests to the login host
    /// (its pages, and every sign-in at a relying party) slide the idle timeout.
    public func session(sid: String) async throws -> LoginSession? {
        guard sid.utf8.count <= 128, let session = try await store.loginSession(sid: sid) else { return nil }
        return try await live(session, touch: false)
    }

    /// Records that a token for `sid` goes to `clientID`, before it is minted: that
    /// client may then look the session up, and its logout is queued with the session's
    /// end. Written once per session and client.
    public func recordHandoff(sid: String, to clientID: String) async throws {
        let key = sid + " " + clientID
        guard !recorded.contains(key) else { return }
        try await store.recordHandoff(sid: sid, clientID: clientID, at: clock.now())
        recorded.insert(key)
    }

    /// What the back channel tells `clientID` about `sid`; nil (a 404) when the session
    /// has ended, and when it was never handed to that client: a relying party learns
    /// nothing about sessions that are not its own, and keeps none alive by asking.
    public func sessionInfo(sid: String, for clientID: String) async throws -> SessionInfo? {
        guard sid.utf8.count <= 128, let (stored, user) = try await store.sessionForLookup(sid: sid, clientID: clientID),
            let session = try await live(stored, touch: false)
        else { return nil }
        return SessionInfo(
            sid: session.sid, sub: user.id, username: user.username, display_name: user.displayName, email: user.email,
            groups: user.groups, auth_time: session.authTime.unixSeconds, expires_at: session.expiresAt.unixSeconds)
    }

    /// Ends the session with handle `sid` and queues a back-channel logout for every
    /// relying party that looked it up. Returns those clients (nil: no such session).
    @discardableResult
    public func endSession(sid: String) async throws -> [String]? {
        cached.forget(sid: sid)
        return try await store.endLoginSession(sid: sid, queueLogoutAt: clock.now())
    }

    /// Ends every session that is idle or past its absolute expiry; returns their sids.
    public func endStaleSessions() async throws -> [String] {
        let now = clock.now()
        let stale = try await store.staleLoginSessions(now: now, idleBefore: now.addingTimeInterval(-timeouts.idle))
        for sid in stale {
            cached.forget(sid: sid)
            try await store.endLoginSession(sid: sid, queueLogoutAt: now)
        }
        return stale
    }

    private func live(_ session: LoginSession, touch: Bool = true) async throws -> LoginSession? {
        let now = clock.now()
        guard isLive(session, at: now) else {
            cached.forget(sid: session.sid)
            try await store.endLoginSession(sid: session.sid, queueLogoutAt: now)
            return nil
        }
        guard touch else { return session }
        var touched = session
        if touchDue(session, at: now) {
            try await store.touchLoginSession(sid: session.sid, at: now)
            touched.lastSeen = now
        }
        return touched
    }

    private func isLive(_ session: LoginSession, at now: Date) -> Bool {
        now < session.expiresAt && now.timeIntervalSince(session.lastSeen) < timeouts.idle
    }

    /// Sliding idle expiry, written at most once a minute to spare the store.
    private func touchDue(_ session: LoginSession, at now: Date) -> Bool {
        now.timeIntervalSince(session.lastSeen) >= 60
    }
}

/// The (session, client) pairs this process has written, so a second token for the same
/// pair costs no write. Bounded: when full it starts again, which costs a write each.
final class RecordedHandoffs: Sendable {
    private let keys = Mutex<Set<String>>([])
    static let capacity = 50_000

    func contains(_ key: String) -> Bool { keys.withLock { $0.contains(key) } }

    func insert(_ key: String) {
        keys.withLock { keys in
            if keys.count >= Self.capacity { keys.removeAll(keepingCapacity: true) }
            keys.insert(key)
        }
    }
}

/// Login sessions by the hash of their cookie, each kept for ``lifetime``.
public final class CachedLoginSessions: Sendable {
    public static let defaultLifetime: Duration = .seconds(1)
    static let capacity = 50_000
    let lifetime: Duration
    private let sessions = Mutex<[String: (session: LoginSession, readAt: ContinuousClock.Instant)]>([:])

    init(lifetime: Duration) { self.lifetime = lifetime }

    func session(secretHash: String) -> LoginSession? {
        let now = ContinuousClock.now
        guard let entry = sessions.withLock({ $0[secretHash] }), now - entry.readAt < lifetime else { return nil }
        return entry.session
    }

    func keep(_ session: LoginSession) {
        let now = ContinuousClock.now
        sessions.withLock { sessions in
            if let entry = sessions[session.secretHash], now - entry.readAt < lifetime {
                // Still fresh: keep when it was read, take what changed (a touch).
                sessions[session.secretHash] = (session, entry.readAt)
                return
            }
            if sessions.count >= Self.capacity { sessions.removeAll(keepingCapacity: true) }
            sessions[session.secretHash] = (session, now)
        }
    }

    func forget(sid: String) {
        sessions.withLock { sessions in sessions = sessions.filter { $0.value.session.sid != sid } }
    }
}

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
    private let recorded = RecordedHandoffs()

    /// A service over `store`.
    public init(store: any LoginHostStore, hasher: PasswordHasher, clock: any BatonClock, timeouts: Timeouts = Timeouts()) {
        self.store = store
        self.hasher = hasher
        self.clock = clock
        self.timeouts = timeouts
    }

    /// The user whose password this is, or nil; an unknown username costs the same time.
    public func authenticate(username: String, password: String) async throws -> User? {
        guard username.utf8.count <= 256, password.utf8.count <= 1024,
            let user = try await store.user(username: username)
        else {
            _ = await hasher.verifyDecoy(password)
            return nil
        }
        return await hasher.verify(password, hash: user.passwordHash) ? user : nil
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
        guard let session = try await store.loginSession(secretHash: Secrets.hash(cookie)) else { return nil }
        return try await live(session)
    }

    /// The live session with public handle `sid`, or nil.
    /// `touch`: a relying party asking on a person's request is activity too, so a
    /// person busy on the dashboard is not signed out for being idle on the login host.
    public func session(sid: String, touch: Bool = false) async throws -> LoginSession? {
        guard sid.utf8.count <= 128, let session = try await store.loginSession(sid: sid) else { return nil }
        return try await live(session, touch: touch)
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
    /// nothing about, and keeps nothing alive of, sessions that are not its own.
    public func sessionInfo(sid: String, for clientID: String) async throws -> SessionInfo? {
        guard sid.utf8.count <= 128, try await store.clientsHandedTo(sid: sid).contains(clientID),
            let session = try await session(sid: sid, touch: true), let user = try await store.user(id: session.userID)
        else { return nil }
        return SessionInfo(
            sid: session.sid, sub: user.id, username: user.username, display_name: user.displayName, email: user.email,
            groups: user.groups, auth_time: session.authTime.unixSeconds, expires_at: session.expiresAt.unixSeconds)
    }

    /// Ends the session with handle `sid` and queues a back-channel logout for every
    /// relying party that looked it up. Returns those clients (nil: no such session).
    @discardableResult
    public func endSession(sid: String) async throws -> [String]? {
        try await store.endLoginSession(sid: sid, queueLogoutAt: clock.now())
    }

    /// Ends every session that is idle or past its absolute expiry; returns their sids.
    public func endStaleSessions() async throws -> [String] {
        let now = clock.now()
        let stale = try await store.staleLoginSessions(now: now, idleBefore: now.addingTimeInterval(-timeouts.idle))
        for sid in stale { try await store.endLoginSession(sid: sid, queueLogoutAt: now) }
        return stale
    }

    private func live(_ session: LoginSession, touch: Bool = true) async throws -> LoginSession? {
        let now = clock.now()
        guard now < session.expiresAt, now.timeIntervalSince(session.lastSeen) < timeouts.idle else {
            try await store.endLoginSession(sid: session.sid, queueLogoutAt: now)
            return nil
        }
        guard touch else { return session }
        var touched = session
        // Sliding idle expiry, written at most once a minute to spare the store.
        if now.timeIntervalSince(session.lastSeen) >= 60 {
            try await store.touchLoginSession(sid: session.sid, at: now)
            touched.lastSeen = now
        }
        return touched
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

import Foundation
import Synchronization

/// The one place a relying party decides whether a request carries a live session of
/// its own and whether that session may pass: its pages and every forward-auth check
/// (`/sso/auth`) ask here and nowhere else.
///
/// In order: the cookie names a stored session of this relying party (an unknown one
/// never authenticates); it is within its absolute and idle lifetimes; the login host
/// still vouches for it, asked over the back channel at most every
/// `revalidateInterval` (one question per login session however many requests arrive
/// together), with `revalidateGrace` of patience while the login host cannot be
/// reached; and the person is in a group the relying party and the request allow. A
/// session that fails one of the first three is removed.
///
/// `/sso/auth` sits in front of every request to a protected app, so nothing here
/// writes per request. What requests learn — when a session was last used, and after a
/// revalidation when and as whom the login host vouched for it — is kept in memory and
/// written by ``flush()`` in one transaction for all sessions. Losing it in a crash only
/// makes a session look idler than it was, or be revalidated once more: fail closed.
public final class SessionGate: Sendable {
    /// The rules a relying party applies.
    public struct Policy: Sendable, Equatable {
        /// A session unused this long ends.
        public var idleTimeout: TimeInterval
        /// How often, at most, the login host is asked about a session (0: never).
        public var revalidateInterval: TimeInterval
        /// How long a session goes on while the login host cannot be asked.
        public var revalidateGrace: TimeInterval
        /// The person must be in one of these (PROTOCOL.md `allowed_groups`); empty: anyone.
        public var allowedGroups: [String]
        /// Idle expiry is this coarse: a session's last use is recorded only once it is
        /// this much older than the recorded one.
        public var touchGranularity: TimeInterval
        /// How long a session read from the store answers requests before it is read
        /// again. A session this process ends is forgotten at once; one ended by another
        /// replica of this relying party is seen within this time.
        public var cacheLifetime: Duration

        public init(
            idleTimeout: TimeInterval, revalidateInterval: TimeInterval, revalidateGrace: TimeInterval,
            allowedGroups: [String] = [], touchGranularity: TimeInterval = 60, cacheLifetime: Duration = .seconds(1)
        ) {
            self.idleTimeout = idleTimeout
            self.revalidateInterval = revalidateInterval
            self.revalidateGrace = revalidateGrace
            self.allowedGroups = allowedGroups
            self.touchGranularity = touchGranularity
            self.cacheLifetime = cacheLifetime
        }
    }

    /// Why a session stopped.
    public enum Ending: String, Error, Sendable {
        case expired, idle
        case loginSessionEnded = "login_session_ended"
        case loginHostUnreachable = "login_host_unreachable"
    }

    /// What the gate decided about one request.
    public enum Decision: Sendable, Equatable {
        /// A live session of this relying party, in an allowed group.
        case admitted(RPSession)
        /// No session: no cookie, a cookie the store does not know, or a session that
        /// has just ended (the reason).
        case signedOut(Ending?)
        /// A live session whose person fails a group rule.
        case notPermitted(RPSession)
        /// The store failed: nothing can be decided, so nothing passes.
        case storeUnavailable
    }

    public let clientID: String
    public let policy: Policy
    let store: any RPSessionStore
    let directory: any LoginSessionDirectory
    let clock: any BatonClock
    /// Learned since the last flush, by the session's id hash.
    private let learned = Mutex<[String: RPSessionRefresh]>([:])
    /// Back-channel questions under way, by login session: callers arriving meanwhile
    /// wait for the same answer instead of asking again.
    private let revalidations = Mutex<[String: Task<Result<SessionInfo, BatonError>, Never>]>([:])
    /// Sessions read from the store lately, by id hash, with when they were read.
    private let cache = Mutex<[String: (session: RPSession, readAt: ContinuousClock.Instant)]>([:])
    /// Bounds the cache: past this many sessions it starts again.
    static let cacheCapacity = 50_000

    public init(
        clientID: String, store: any RPSessionStore, directory: any LoginSessionDirectory, clock: any BatonClock, policy: Policy
    ) {
        self.clientID = clientID
        self.store = store
        self.directory = directory
        self.clock = clock
        self.policy = policy
    }

    /// The decision for a request carrying session cookie `cookie` (nil: none), with the
    /// request's own group rule `requiredGroups` (`/sso/auth?group=…`; empty: none).
    public func check(cookie: String?, requiredGroups: [String] = []) async -> Decision {
        guard let idHash = Self.idHash(cookie) else { return .signedOut(nil) }
        let stored: RPSession?
        do {
            stored = try await read(idHash: idHash)
        } catch {
            return .storeUnavailable
        }
        guard let stored, stored.clientID == clientID else { return .signedOut(nil) }
        var session = withLearned(stored)
        let now = clock.now()
        if let ending = ending(of: session, at: now) { return await end(session, ending) }
        var refresh: RPSessionRefresh?
        if revalidationDue(session, at: now) {
            switch await revalidate(loginSID: session.loginSID) {
            case .success(let info) where info.sid == session.loginSID:
                session.lastValidated = now
                session.identity = info.identity
                refresh = RPSessionRefresh(idHash: session.idHash, lastSeen: now, lastValidated: now, identity: info.identity)
            case .success, .failure(.sessionEnded):
                return await end(session, .loginSessionEnded)
            case .failure:
                if now.timeIntervalSince(session.lastValidated) >= policy.revalidateGrace {
                    return await end(session, .loginHostUnreachable)
                }
            }
        }
        return admission(of: session, refresh: refresh, at: now, requiredGroups: requiredGroups)
    }

    /// The decision ``check(cookie:requiredGroups:)`` would make, when it can be made
    /// from memory alone, at once: the session is in the cache and fresh there, and it
    /// neither ends nor is due to be revalidated now. Nil otherwise, and then nothing
    /// has changed: ask ``check(cookie:requiredGroups:)``. It is the same decision by
    /// the same rules, for a caller that must not wait (a forward-auth check answered
    /// on its connection's event loop).
    public func decisionFromMemory(cookie: String?, requiredGroups: [String] = []) -> Decision? {
        guard let idHash = Self.idHash(cookie) else { return .signedOut(nil) }
        guard let stored = cached(idHash: idHash, at: ContinuousClock.now) else { return nil }
        guard stored.clientID == clientID else { return .signedOut(nil) }
        let session = withLearned(stored)
        let now = clock.now()
        guard ending(of: session, at: now) == nil, !revalidationDue(session, at: now) else { return nil }
        return admission(of: session, refresh: nil, at: now, requiredGroups: requiredGroups)
    }

    /// The store's key for a session cookie; nil for none, an empty one or one longer
    /// than Baton ever sets.
    private static func idHash(_ cookie: String?) -> String? {
        guard let cookie, !cookie.isEmpty, cookie.utf8.count <= 256 else { return nil }
        return Secrets.hash(cookie)
    }

    /// Why `session` ends now, if it does: past its absolute or its idle lifetime.
    private func ending(of session: RPSession, at now: Date) -> Ending? {
        if now >= session.expiresAt { return .expired }
        if now.timeIntervalSince(session.lastSeen) >= policy.idleTimeout { return .idle }
        return nil
    }

    private func revalidationDue(_ session: RPSession, at now: Date) -> Bool {
        policy.revalidateInterval > 0 && now.timeIntervalSince(session.lastValidated) >= policy.revalidateInterval
    }

    /// The last step for a live session: what it learned (`refresh`, or else a touch when
    /// its recorded last use is `touchGranularity` old) kept for the next flush, then the
    /// group rules.
    private func admission(of session: RPSession, refresh: RPSessionRefresh?, at now: Date, requiredGroups: [String]) -> Decision {
        var session = session
        var refresh = refresh
        if refresh == nil, now.timeIntervalSince(session.lastSeen) >= policy.touchGranularity {
            refresh = RPSessionRefresh(idHash: session.idHash, lastSeen: now)
        }
        if let refresh {
            session.lastSeen = now
            learn(refresh)
        }
        return admits(session.groups, requiredGroups: requiredGroups) ? .admitted(session) : .notPermitted(session)
    }

    /// True when someone in `groups` passes the relying party's `allowed_groups` and the
    /// request's `group` parameters: at least one of each list that is not empty. A
    /// requested name that is not a valid group name admits nobody.
    public func admits(_ groups: [String], requiredGroups: [String] = []) -> Bool {
        let member = Set(groups)
        if !policy.allowedGroups.isEmpty, member.isDisjoint(with: policy.allowedGroups) { return false }
        if !requiredGroups.isEmpty {
            guard requiredGroups.allSatisfy(GroupName.isValid), !member.isDisjoint(with: requiredGroups) else { return false }
        }
        return true
    }

    /// Forgets a session that has been ended elsewhere (its logout): what was learned
    /// about it, and its cached copy.
    public func forget(idHash: String) {
        _ = learned.withLock { $0.removeValue(forKey: idHash) }
        _ = cache.withLock { $0.removeValue(forKey: idHash) }
    }

    /// Forgets every cached session of login session `loginSID` (a back-channel logout).
    public func forget(loginSID: String) {
        cache.withLock { cache in cache = cache.filter { $0.value.session.loginSID != loginSID } }
    }

    /// The stored session, from the cache while it is fresh; an unknown id is never cached.
    private func read(idHash: String) async throws -> RPSession? {
        let now = ContinuousClock.now
        if let cached = cached(idHash: idHash, at: now) { return cached }
        guard let session = try await store.rpSession(idHash: idHash) else {
            _ = cache.withLock { $0.removeValue(forKey: idHash) }
            return nil
        }
        cache.withLock { cache in
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[idHash] = (session, now)
        }
        return session
    }

    /// The cached copy of a session while it is fresh.
    private func cached(idHash: String, at now: ContinuousClock.Instant) -> RPSession? {
        guard let cached = cache.withLock({ $0[idHash] }), now - cached.readAt < policy.cacheLifetime else { return nil }
        return cached.session
    }

    /// How many sessions have something learned that is not written yet.
    public var unwritten: Int { learned.withLock { $0.count } }

    /// Writes everything learned since the last flush in one transaction. What is
    /// learned meanwhile is kept for the next one; on failure everything is kept.
    public func flush() async throws {
        let batch = learned.withLock { Array($0.values) }
        guard !batch.isEmpty else { return }
        try await store.refreshRPSessions(batch)
        learned.withLock { learned in
            for written in batch where learned[written.idHash] == written { learned[written.idHash] = nil }
        }
    }

    private func withLearned(_ stored: RPSession) -> RPSession {
        guard let known = learned.withLock({ $0[stored.idHash] }) else { return stored }
        var session = stored
        session.lastSeen = max(session.lastSeen, known.lastSeen)
        if let validated = known.lastValidated, validated > session.lastValidated {
            session.lastValidated = validated
            if let identity = known.identity { session.identity = identity }
        }
        return session
    }

    private func learn(_ refresh: RPSessionRefresh) {
        learned.withLock { learned in
            guard let earlier = learned[refresh.idHash] else {
                learned[refresh.idHash] = refresh
                return
            }
            var merged = refresh
            if merged.lastValidated == nil {
                merged.lastValidated = earlier.lastValidated
                merged.identity = earlier.identity
            }
            learned[refresh.idHash] = merged
        }
    }

    private func revalidate(loginSID: String) async -> Result<SessionInfo, BatonError> {
        let directory = self.directory
        let (task, owner) = revalidations.withLock { running -> (Task<Result<SessionInfo, BatonError>, Never>, Bool) in
            if let task = running[loginSID] { return (task, false) }
            let task = Task { () -> Result<SessionInfo, BatonError> in
                do throws(BatonError) {
                    return .success(try await directory.lookUp(sid: loginSID))
                } catch {
                    return .failure(error)
                }
            }
            running[loginSID] = task
            return (task, true)
        }
        let answer = await task.value
        if owner { _ = revalidations.withLock { $0.removeValue(forKey: loginSID) } }
        return answer
    }

    private func end(_ session: RPSession, _ reason: Ending) async -> Decision {
        // Forgotten first: a failed delete must not leave it answering from the cache.
        forget(idHash: session.idHash)
        do {
            try await store.deleteRPSession(idHash: session.idHash)
        } catch {
            return .storeUnavailable
        }
        return .signedOut(reason)
    }
}

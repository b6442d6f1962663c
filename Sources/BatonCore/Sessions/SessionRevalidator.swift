import Foundation

/// Keeps a relying-party session honest on every request: absolute and sliding idle
/// expiry, and — the safety net under back-channel logout — a re-check of the login
/// session over the back channel at most every ``interval`` seconds. A login session
/// that has ended ends the RP session; a login host that cannot be asked is given
/// ``grace`` seconds before the RP session ends too (fail closed, eventually).
public struct SessionRevalidator: Sendable {
    public let store: any RPSessionStore
    public let directory: any LoginSessionDirectory
    public let clock: any BatonClock
    public let idleTimeout: TimeInterval
    public let interval: TimeInterval
    public let grace: TimeInterval

    /// A revalidator; `interval` 0 turns the back-channel re-check off.
    public init(
        store: any RPSessionStore, directory: any LoginSessionDirectory, clock: any BatonClock, idleTimeout: TimeInterval,
        interval: TimeInterval, grace: TimeInterval
    ) {
        self.store = store
        self.directory = directory
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.interval = interval
        self.grace = grace
    }

    /// Why a session stopped.
    public enum Ending: String, Error, Sendable {
        case expired, idle, loginSessionEnded = "login_session_ended", loginHostUnreachable = "login_host_unreachable"
    }

    /// The session, still live (and touched), or why it has ended (and been removed).
    public func check(_ session: RPSession) async throws -> Result<RPSession, Ending> {
        let now = clock.now()
        if now >= session.expiresAt { return try await end(session, .expired) }
        if now.timeIntervalSince(session.lastSeen) >= idleTimeout { return try await end(session, .idle) }
        var validated: Date?
        if interval > 0, now.timeIntervalSince(session.lastValidated) >= interval {
            let answer: Result<SessionInfo, BatonError>
            do {
                answer = .success(try await directory.lookUp(sid: session.loginSID))
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .success(let info) where info.sid == session.loginSID:
                validated = now
            case .success, .failure(.sessionEnded):
                return try await end(session, .loginSessionEnded)
            case .failure:
                if now.timeIntervalSince(session.lastValidated) >= grace { return try await end(session, .loginHostUnreachable) }
            }
        }
        var touched = session
        // Writes at most once a minute unless a revalidation happened.
        if validated != nil || now.timeIntervalSince(session.lastSeen) >= 60 {
            try await store.touchRPSession(idHash: session.idHash, lastSeen: now, lastValidated: validated)
            touched.lastSeen = now
            if let validated { touched.lastValidated = validated }
        }
        return .success(touched)
    }

    private func end(_ session: RPSession, _ reason: Ending) async throws -> Result<RPSession, Ending> {
        try await store.deleteRPSession(idHash: session.idHash)
        return .failure(reason)
    }
}

import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore: LoginSessionStore {
    public func insertLoginSession(_ session: LoginSession) async throws {
        try await transaction("insert a login session") { try await Self.insert($0, session) }
    }

    private static func insert(_ db: Transaction, _ session: LoginSession) async throws {
        try await db.execute(
            """
            INSERT INTO login_sessions (sid, secret_hash, user_id, auth_time, last_seen, expires_at, user_agent)
            VALUES (\(session.sid), \(session.secretHash), \(session.userID), \(session.authTime.timeIntervalSince1970),
                \(session.lastSeen.timeIntervalSince1970), \(session.expiresAt.timeIntervalSince1970), \(session.userAgent))
            """)
    }

    @discardableResult
    public func insertLoginSession(_ session: LoginSession, keepingAtMost limit: Int, queueLogoutAt now: Date) async throws -> [String] {
        try await transaction("insert a login session within the user's cap") { db in
            // One user's sign-ins one at a time, as SQLite's single writer has them: two
            // replicas signing the same person in cannot both leave one too many.
            try await db.execute("SELECT pg_advisory_xact_lock(\(LockClass.loginSessionsOfUser), hashtext(\(session.userID)))")
            let oldest = try await db.rows(
                """
                SELECT sid FROM login_sessions WHERE user_id = \(session.userID)
                ORDER BY auth_time DESC, sid COLLATE "C" DESC OFFSET \(max(limit - 1, 0))
                """
            ) { try $0.decode(String.self) }
            try await Self.end(db, sids: oldest, queueLogoutAt: now)
            try await Self.insert(db, session)
            return oldest
        }
    }

    public func loginSession(secretHash: String) async throws -> LoginSession? {
        try await rows(
            "SELECT \(unescaped: LoginSession.columns) FROM login_sessions WHERE secret_hash = \(secretHash)", "read a login session",
            as: LoginSession.init(row:)
        ).first
    }

    public func loginSession(sid: String) async throws -> LoginSession? {
        try await rows(
            "SELECT \(unescaped: LoginSession.columns) FROM login_sessions WHERE sid = \(sid)", "read a login session",
            as: LoginSession.init(row:)
        ).first
    }

    public func touchLoginSession(sid: String, at date: Date) async throws {
        try await execute("UPDATE login_sessions SET last_seen = \(date.timeIntervalSince1970) WHERE sid = \(sid)", "touch a login session")
    }

    @discardableResult
    public func endLoginSession(sid: String, queueLogoutAt now: Date) async throws -> [String]? {
        try await transaction("end a login session") { db in
            // Locks the row: of two replicas ending the same session, one ends it and
            // the other finds it gone.
            guard try await db.execute("SELECT 1 FROM login_sessions WHERE sid = \(sid) FOR UPDATE") == 1 else { return nil }
            let clients = try await db.rows(
                "SELECT client_id FROM session_lookups WHERE sid = \(sid) ORDER BY client_id COLLATE \"C\""
            ) { try $0.decode(String.self) }
            try await Self.end(db, sids: [sid], queueLogoutAt: now)
            return clients
        }
    }

    /// Queues a back-channel logout for every client each session was handed to (due at
    /// `now`, given up at the session's absolute expiry), then deletes the sessions and,
    /// by cascade, their lookups: in the caller's transaction, so that a crash cannot
    /// end a session and lose the news.
    private static func end(_ db: Transaction, sids: [String], queueLogoutAt now: Date) async throws {
        guard !sids.isEmpty else { return }
        let at = now.timeIntervalSince1970
        try await db.execute(
            """
            INSERT INTO logout_deliveries (sid, client_id, created_at, next_attempt_at, attempts, deadline)
            SELECT l.sid, l.client_id, \(at), \(at), 0, s.expires_at
            FROM session_lookups l JOIN login_sessions s ON s.sid = l.sid
            WHERE l.sid = ANY(\(sids))
            ON CONFLICT (sid, client_id) DO NOTHING
            """)
        try await db.execute("DELETE FROM login_sessions WHERE sid = ANY(\(sids))")
    }

    public func loginSessions(userID: String) async throws -> [LoginSession] {
        try await rows(
            """
            SELECT \(unescaped: LoginSession.columns) FROM login_sessions WHERE user_id = \(userID)
            ORDER BY auth_time DESC, sid COLLATE "C" DESC
            """, "list login sessions", as: LoginSession.init(row:))
    }

    public func staleLoginSessions(now: Date, idleBefore: Date) async throws -> [String] {
        try await rows(
            """
            SELECT sid FROM login_sessions
            WHERE expires_at <= \(now.timeIntervalSince1970) OR last_seen < \(idleBefore.timeIntervalSince1970)
            """, "list stale login sessions"
        ) { try $0.decode(String.self) }
    }

    public func recordHandoff(sid: String, clientID: String, at date: Date) async throws {
        try await execute(
            """
            INSERT INTO session_lookups (sid, client_id, looked_up_at) VALUES (\(sid), \(clientID), \(date.timeIntervalSince1970))
            ON CONFLICT (sid, client_id) DO NOTHING
            """, "record a handoff")
    }

    public func clientsHandedTo(sid: String) async throws -> [String] {
        try await rows(
            "SELECT client_id FROM session_lookups WHERE sid = \(sid) ORDER BY client_id COLLATE \"C\"", "list a session's clients"
        ) { try $0.decode(String.self) }
    }
}

extension LoginSession {
    static let columns = "sid, secret_hash, user_id, auth_time, last_seen, expires_at, user_agent"

    init(row: PostgresRow) throws {
        let (sid, secretHash, userID, authTime, lastSeen, expiresAt, userAgent) = try row.decode(
            (String, String, String, Double, Double, Double, String).self)
        self.init(
            sid: sid, secretHash: secretHash, userID: userID, authTime: Date(timeIntervalSince1970: authTime),
            lastSeen: Date(timeIntervalSince1970: lastSeen), expiresAt: Date(timeIntervalSince1970: expiresAt), userAgent: userAgent)
    }
}

/// The first key of each advisory lock PostgresStore takes (`pg_advisory_xact_lock(class,
/// hashtext(name))`), so that its kinds of lock never meet each other's (nor the
/// migrator's, which takes the one-key form).
enum LockClass {
    static let loginSessionsOfUser: Int32 = 0x4254_0001
    static let rpSessionsOfSubject: Int32 = 0x4254_0002
    static let signInKey: Int32 = 0x4254_0003
}

import BatonCore
import Foundation
import GRDB

extension SQLiteStore: LoginSessionStore {
    public func insertLoginSession(_ session: LoginSession) async throws {
        try await write { db in try Self.insert(db, session) }
    }

    private static func insert(_ db: Database, _ session: LoginSession) throws {
        try db.cachedStatement(sql: """
                INSERT INTO login_sessions (sid, secret_hash, user_id, auth_time, last_seen, expires_at, user_agent)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                session.sid, session.secretHash, session.userID, session.authTime.sqliteSeconds,
                session.lastSeen.sqliteSeconds, session.expiresAt.sqliteSeconds, session.userAgent,
            ])
    }

    @discardableResult
    public func insertLoginSession(_ session: LoginSession, keepingAtMost limit: Int, queueLogoutAt now: Date) async throws -> [String] {
        try await write { db in
            let oldest = try String.fetchAll(db.cachedStatement(sql: """
                    SELECT sid FROM login_sessions WHERE user_id = ?
                    ORDER BY auth_time DESC, sid DESC LIMIT -1 OFFSET ?
                    """),
                arguments: [session.userID, max(limit - 1, 0)])
            for sid in oldest { _ = try Self.endLoginSession(db, sid: sid, queueLogoutAt: now) }
            try Self.insert(db, session)
            return oldest
        }
    }

    public func loginSession(secretHash: String) async throws -> LoginSession? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM login_sessions WHERE secret_hash = ?"), arguments: [secretHash])
                .map(LoginSession.init(row:))
        }
    }

    public func loginSession(sid: String) async throws -> LoginSession? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM login_sessions WHERE sid = ?"), arguments: [sid]).map(LoginSession.init(row:))
        }
    }

    public func touchLoginSession(sid: String, at date: Date) async throws {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE login_sessions SET last_seen = ? WHERE sid = ?").execute(arguments: [date.sqliteSeconds, sid])
        }
    }

    @discardableResult
    public func endLoginSession(sid: String, queueLogoutAt now: Date) async throws -> [String]? {
        try await write { db in try Self.endLoginSession(db, sid: sid, queueLogoutAt: now) }
    }

    private static func endLoginSession(_ db: Database, sid: String, queueLogoutAt now: Date) throws -> [String]? {
        guard let expiresAt = try Double.fetchOne(db.cachedStatement(sql: "SELECT expires_at FROM login_sessions WHERE sid = ?"), arguments: [sid])
        else { return nil }
        let clients = try String.fetchAll(db.cachedStatement(sql: "SELECT client_id FROM session_lookups WHERE sid = ? ORDER BY client_id"), arguments: [sid])
        // Queued in the same transaction as the deletion: a crash cannot end the
        // session and lose the news.
        for client in clients {
            try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO logout_deliveries (sid, client_id, created_at, next_attempt_at, attempts, deadline)
                    VALUES (?, ?, ?, ?, 0, ?)
                    """).execute(arguments: [sid, client, now.sqliteSeconds, now.sqliteSeconds, expiresAt])
        }
        try db.cachedStatement(sql: "DELETE FROM login_sessions WHERE sid = ?").execute(arguments: [sid])
        return clients
    }

    public func loginSessions(userID: String) async throws -> [LoginSession] {
        try await scan { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM login_sessions WHERE user_id = ? ORDER BY auth_time DESC"), arguments: [userID])
                .map(LoginSession.init(row:))
        }
    }

    public func staleLoginSessions(now: Date, idleBefore: Date) async throws -> [String] {
        try await scan { db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT sid FROM login_sessions WHERE expires_at <= ? OR last_seen < ?"),
                arguments: [now.sqliteSeconds, idleBefore.sqliteSeconds])
        }
    }

    public func recordHandoff(sid: String, clientID: String, at date: Date) async throws {
        try await write { db in
            try db.cachedStatement(sql: """
                    INSERT INTO session_lookups (sid, client_id, looked_up_at) VALUES (?, ?, ?)
                    ON CONFLICT (sid, client_id) DO NOTHING
                    """).execute(arguments: [sid, clientID, date.sqliteSeconds])
        }
    }

    public func sessionForLookup(sid: String, clientID: String) async throws -> (session: LoginSession, user: User)? {
        try read { db in
            // One statement: the session, its user, and whether it was handed to this client.
            guard
                let row = try Row.fetchOne(db.cachedStatement(sql: """
                        SELECT s.*, u.id AS u_id, u.username AS u_username, u.display_name AS u_display_name, u.email AS u_email,
                            u.groups AS u_groups, u.password_hash AS u_password_hash, u.created_at AS u_created_at
                        FROM login_sessions s
                        JOIN session_lookups l ON l.sid = s.sid AND l.client_id = ?
                        JOIN users u ON u.id = s.user_id
                        WHERE s.sid = ?
                        """), arguments: [clientID, sid])
            else { return nil }
            let user = User(
                id: row["u_id"], username: row["u_username"], displayName: row["u_display_name"], email: row["u_email"],
                groups: GroupName.split(row["u_groups"]), passwordHash: row["u_password_hash"],
                createdAt: Date(sqliteSeconds: row["u_created_at"]))
            return (LoginSession(row: row), user)
        }
    }

    public func clientsHandedTo(sid: String) async throws -> [String] {
        try read { db in
            try String.fetchAll(db.cachedStatement(sql: "SELECT client_id FROM session_lookups WHERE sid = ? ORDER BY client_id"), arguments: [sid])
        }
    }
}

extension LoginSession {
    init(row: Row) {
        self.init(
            sid: row["sid"], secretHash: row["secret_hash"], userID: row["user_id"],
            authTime: Date(sqliteSeconds: row["auth_time"]), lastSeen: Date(sqliteSeconds: row["last_seen"]),
            expiresAt: Date(sqliteSeconds: row["expires_at"]), userAgent: row["user_agent"])
    }
}

import BatonCore
import Foundation
import GRDB

extension SQLiteStore: LoginSessionStore {
    public func insertLoginSession(_ session: LoginSession) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO login_sessions (sid, secret_hash, user_id, auth_time, last_seen, expires_at, user_agent)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.sid, session.secretHash, session.userID, session.authTime.sqliteSeconds,
                    session.lastSeen.sqliteSeconds, session.expiresAt.sqliteSeconds, session.userAgent,
                ])
        }
    }

    public func loginSession(secretHash: String) async throws -> LoginSession? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM login_sessions WHERE secret_hash = ?", arguments: [secretHash])
                .map(LoginSession.init(row:))
        }
    }

    public func loginSession(sid: String) async throws -> LoginSession? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM login_sessions WHERE sid = ?", arguments: [sid]).map(LoginSession.init(row:))
        }
    }

    public func touchLoginSession(sid: String, at date: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE login_sessions SET last_seen = ? WHERE sid = ?", arguments: [date.sqliteSeconds, sid])
        }
    }

    @discardableResult
    public func endLoginSession(sid: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM login_sessions WHERE sid = ?", arguments: [sid])
            return db.changesCount == 1
        }
    }

    public func recordLookup(sid: String, clientID: String, at date: Date) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO session_lookups (sid, client_id, looked_up_at) VALUES (?, ?, ?)
                    ON CONFLICT (sid, client_id) DO UPDATE SET looked_up_at = excluded.looked_up_at
                    """,
                arguments: [sid, clientID, date.sqliteSeconds])
        }
    }

    public func lookups(sid: String) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT client_id FROM session_lookups WHERE sid = ? ORDER BY client_id", arguments: [sid])
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

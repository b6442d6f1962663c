import BatonCore
import Foundation
import GRDB

extension SQLiteStore: RelyingPartyStore {
    public func burn(issuer: String, jti: String, until: Date, creating session: RPSession) async throws -> BurnOutcome {
        let timeline = session.timeline.json
        return try await write { db in
            guard try Self.burn(db, issuer: issuer, jti: jti, until: until) == .burned else { return .alreadyUsed }
            try Self.insert(db, session, timeline: timeline)
            return .burned
        }
    }
}

extension SQLiteStore: RPSessionStore {
    public func insertRPSession(_ session: RPSession) async throws {
        let timeline = session.timeline.json
        try await write { db in try Self.insert(db, session, timeline: timeline) }
    }

    static func insert(_ db: Database, _ session: RPSession, timeline: String) throws {
            try db.cachedStatement(sql: """
                    INSERT INTO rp_sessions (id_hash, client_id, login_sid, created_by_jti, return_to, subject, username,
                        display_name, email, groups, created_at, expires_at, timeline, last_seen, last_validated)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                    session.idHash, session.clientID, session.loginSID, session.createdByJTI, session.returnTo,
                    session.subject, session.username, session.displayName, session.email, GroupName.joined(session.groups),
                    session.createdAt.sqliteSeconds, session.expiresAt.sqliteSeconds, timeline, session.lastSeen.sqliteSeconds,
                    session.lastValidated.sqliteSeconds,
                ])
            // The cap per person: the oldest sessions beyond it go with this insert.
            try db.cachedStatement(sql: """
                    DELETE FROM rp_sessions WHERE id_hash IN (
                        SELECT id_hash FROM rp_sessions WHERE client_id = ? AND subject = ?
                        ORDER BY created_at DESC, id_hash DESC LIMIT -1 OFFSET ?)
                    """).execute(arguments: [session.clientID, session.subject, SessionLimits.rpSessionsPerSubject])
    }

    public func rpSession(idHash: String) async throws -> RPSession? {
        try read { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM rp_sessions WHERE id_hash = ?"), arguments: [idHash])
            else { return nil }
            let timelineText: String = row["timeline"]
            guard let timeline = HandoffTimeline(json: timelineText) else {
                throw StoreError("rp_sessions row has an unreadable timeline")
            }
            return RPSession(
                idHash: row["id_hash"], clientID: row["client_id"], loginSID: row["login_sid"],
                createdByJTI: row["created_by_jti"], returnTo: row["return_to"],
                identity: Identity(
                    subject: row["subject"], username: row["username"], displayName: row["display_name"], email: row["email"],
                    groups: GroupName.split(row["groups"])),
                createdAt: Date(sqliteSeconds: row["created_at"]), expiresAt: Date(sqliteSeconds: row["expires_at"]),
                timeline: timeline, lastSeen: Date(sqliteSeconds: row["last_seen"]),
                lastValidated: Date(sqliteSeconds: row["last_validated"]))
        }
    }

    @discardableResult
    public func deleteRPSession(idHash: String) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM rp_sessions WHERE id_hash = ?").execute(arguments: [idHash])
            return db.changesCount == 1
        }
    }

    public func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws {
        guard !refreshes.isEmpty else { return }
        try await write { db in
            for refresh in refreshes {
                // MAX: a refresh never moves a time backwards, whichever replica wrote last.
                try db.cachedStatement(sql: """
                        UPDATE rp_sessions SET last_seen = MAX(last_seen, ?), last_validated = MAX(last_validated, COALESCE(?, 0))
                        WHERE id_hash = ?
                        """).execute(arguments: [refresh.lastSeen.sqliteSeconds, refresh.lastValidated?.sqliteSeconds, refresh.idHash])
                if let identity = refresh.identity {
                    try db.cachedStatement(sql: "UPDATE rp_sessions SET username = ?, display_name = ?, email = ?, groups = ? WHERE id_hash = ?").execute(arguments: [identity.username, identity.displayName, identity.email, GroupName.joined(identity.groups), refresh.idHash])
                }
            }
        }
    }

    @discardableResult
    public func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM rp_sessions WHERE login_sid = ? AND client_id = ?").execute(arguments: [loginSID, clientID])
            return db.changesCount
        }
    }
}

extension SQLiteStore: Pruning {
    /// Removes expired used tokens and sessions, and relying-party
    /// sessions idle beyond their client's idle timeout in `idleTimeouts` (by client
    /// id) by more than ``SessionLimits/idlePruneMargin``; returns how many rows.
    @discardableResult
    public func prune(now: Date, idleTimeouts: [String: TimeInterval] = [:]) async throws -> Int {
        try await write { db in
            var removed = 0
            // Stored last_seen lags the last use (the gate writes it coarsely and late):
            // only a session idle by more than the margin is surely idle.
            for (clientID, idle) in idleTimeouts.sorted(by: { $0.key < $1.key }) {
                let before = now.addingTimeInterval(-(idle + SessionLimits.idlePruneMargin))
                try db.cachedStatement(sql: "DELETE FROM rp_sessions WHERE client_id = ? AND last_seen < ?").execute(arguments: [clientID, before.sqliteSeconds])
                removed += db.changesCount
            }
            // Login sessions past their absolute expiry go without a logout message: every
            // RP session was capped at that expiry. Deliveries past their deadline go too.
            for table in ["used_tokens WHERE until", "rp_sessions WHERE expires_at",
                "login_sessions WHERE expires_at", "logout_deliveries WHERE deadline"]
            {
                try db.execute(sql: "DELETE FROM \(table) < ?", arguments: [now.sqliteSeconds])
                removed += db.changesCount
            }
            return removed
        }
    }
}

import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore: RelyingPartyStore {
    public func burn(issuer: String, jti: String, until: Date, creating session: RPSession) async throws -> BurnOutcome {
        let row = try SessionRow(session)
        return try await transaction("burn a jti and create its session") { db in
            try await Self.lockSessions(db, of: session)
            // One statement: the session is inserted from the burn's RETURNING, so it
            // exists only if this very statement burned the jti.
            let burned = try await db.rows(
                """
                WITH burned AS (
                    INSERT INTO used_tokens (issuer, jti, until) VALUES (\(issuer), \(jti), \(until.timeIntervalSince1970))
                    ON CONFLICT (issuer, jti) DO NOTHING RETURNING 1
                ), created AS (
                    INSERT INTO rp_sessions (\(unescaped: RPSession.columns))
                    SELECT \(row.idHash), \(row.clientID), \(row.loginSID), \(row.createdByJTI), \(row.returnTo), \(row.subject),
                        \(row.username), \(row.displayName), \(row.email), \(row.groups), \(row.createdAt), \(row.expiresAt),
                        \(row.timeline), \(row.lastSeen), \(row.lastValidated)
                    FROM burned
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM burned)::bigint, (SELECT count(*) FROM created)::bigint
                """
            ) { try $0.decode((Int, Int).self) }
            guard let (burns, created) = burned.first, burns == 1 else { return .alreadyUsed }
            guard created == 1 else { throw StoreError("the burn's session was not created") }
            try await Self.cap(db, clientID: session.clientID, subject: session.subject)
            return .burned
        }
    }
}

extension PostgresStore: RPSessionStore {
    public func insertRPSession(_ session: RPSession) async throws {
        let row = try SessionRow(session)
        try await transaction("insert a relying-party session") { db in
            try await Self.lockSessions(db, of: session)
            try await db.execute(
                """
                INSERT INTO rp_sessions (\(unescaped: RPSession.columns))
                VALUES (\(row.idHash), \(row.clientID), \(row.loginSID), \(row.createdByJTI), \(row.returnTo), \(row.subject),
                    \(row.username), \(row.displayName), \(row.email), \(row.groups), \(row.createdAt), \(row.expiresAt),
                    \(row.timeline), \(row.lastSeen), \(row.lastValidated))
                """)
            try await Self.cap(db, clientID: session.clientID, subject: session.subject)
        }
    }

    /// One person's sessions at one client are inserted one at a time, as SQLite's
    /// single writer has them, so that the cap is exact under concurrent sign-ins.
    private static func lockSessions(_ db: Transaction, of session: RPSession) async throws {
        try await db.execute(
            "SELECT pg_advisory_xact_lock(\(LockClass.rpSessionsOfSubject), hashtext(\(session.clientID + "\n" + session.subject)))")
    }

    /// The cap per person: the oldest sessions beyond it go with the insert.
    private static func cap(_ db: Transaction, clientID: String, subject: String) async throws {
        try await db.execute(
            """
            DELETE FROM rp_sessions WHERE id_hash IN (
                SELECT id_hash FROM rp_sessions WHERE client_id = \(clientID) AND subject = \(subject)
                ORDER BY created_at DESC, id_hash COLLATE "C" DESC OFFSET \(SessionLimits.rpSessionsPerSubject))
            """)
    }

    public func rpSession(idHash: String) async throws -> RPSession? {
        try await rows(
            "SELECT \(unescaped: RPSession.columns) FROM rp_sessions WHERE id_hash = \(idHash)", "read a relying-party session",
            as: RPSession.init(row:)
        ).first
    }

    @discardableResult
    public func deleteRPSession(idHash: String) async throws -> Bool {
        try await execute("DELETE FROM rp_sessions WHERE id_hash = \(idHash) RETURNING 1", "delete a relying-party session") == 1
    }

    @discardableResult
    public func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await execute(
            "DELETE FROM rp_sessions WHERE login_sid = \(loginSID) AND client_id = \(clientID) RETURNING 1",
            "delete a login session's relying-party sessions")
    }

    public func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws {
        guard !refreshes.isEmpty else { return }
        // One row per session, merged as SQLite's one-by-one updates would leave it: the
        // latest times, the last identity given.
        var merged: [String: RPSessionRefresh] = [:]
        for refresh in refreshes {
            guard var existing = merged[refresh.idHash] else {
                merged[refresh.idHash] = refresh
                continue
            }
            existing.lastSeen = max(existing.lastSeen, refresh.lastSeen)
            if let validated = refresh.lastValidated { existing.lastValidated = max(existing.lastValidated ?? validated, validated) }
            if let identity = refresh.identity { existing.identity = identity }
            merged[refresh.idHash] = existing
        }
        // Sorted, and locked in that order: two replicas' batches never deadlock.
        let batch = merged.values.sorted { $0.idHash < $1.idHash }
        let ids = batch.map(\.idHash)
        let seen = batch.map(\.lastSeen.timeIntervalSince1970)
        let validated = batch.map { $0.lastValidated?.timeIntervalSince1970 ?? 0 }
        let hasIdentity = batch.map { $0.identity != nil }
        let usernames = batch.map { $0.identity?.username ?? "" }
        let displayNames = batch.map { $0.identity?.displayName ?? "" }
        let emails = batch.map { $0.identity?.email ?? "" }
        let groups = batch.map { GroupName.joined($0.identity?.groups ?? []) }
        try await transaction("refresh relying-party sessions") { db in
            try await db.execute(
                "SELECT 1 FROM rp_sessions WHERE id_hash = ANY(\(ids)) ORDER BY id_hash COLLATE \"C\" FOR UPDATE")
            // GREATEST: a refresh never moves a time backwards, whichever replica wrote last.
            // Rows that have gone meanwhile match nothing and are skipped.
            try await db.execute(
                """
                UPDATE rp_sessions r SET
                    last_seen = GREATEST(r.last_seen, u.last_seen),
                    last_validated = GREATEST(r.last_validated, u.last_validated),
                    username = CASE WHEN u.has_identity THEN u.username ELSE r.username END,
                    display_name = CASE WHEN u.has_identity THEN u.display_name ELSE r.display_name END,
                    email = CASE WHEN u.has_identity THEN u.email ELSE r.email END,
                    groups = CASE WHEN u.has_identity THEN u.groups ELSE r.groups END
                FROM unnest(\(ids)::text[], \(seen)::float8[], \(validated)::float8[], \(hasIdentity)::bool[],
                    \(usernames)::text[], \(displayNames)::text[], \(emails)::text[], \(groups)::text[])
                    AS u(id_hash, last_seen, last_validated, has_identity, username, display_name, email, groups)
                WHERE r.id_hash = u.id_hash
                """)
        }
    }
}

/// An RP session's columns as they are bound.
private struct SessionRow: Sendable {
    let idHash, clientID, loginSID, createdByJTI, returnTo, subject, username, displayName, email, groups, timeline: String
    let createdAt, expiresAt, lastSeen, lastValidated: Double

    init(_ session: RPSession) throws {
        idHash = session.idHash
        clientID = session.clientID
        loginSID = session.loginSID
        createdByJTI = session.createdByJTI
        returnTo = session.returnTo
        subject = session.subject
        username = session.username
        displayName = session.displayName
        email = session.email
        groups = GroupName.joined(session.groups)
        timeline = session.timeline.json
        createdAt = session.createdAt.timeIntervalSince1970
        expiresAt = session.expiresAt.timeIntervalSince1970
        lastSeen = session.lastSeen.timeIntervalSince1970
        lastValidated = session.lastValidated.timeIntervalSince1970
    }
}

extension RPSession {
    static let columns = """
        id_hash, client_id, login_sid, created_by_jti, return_to, subject, username, display_name, email, groups, \
        created_at, expires_at, timeline, last_seen, last_validated
        """

    init(row: PostgresRow) throws {
        let (
            idHash, clientID, loginSID, createdByJTI, returnTo, subject, username, displayName, email, groups, createdAt, expiresAt,
            timelineText, lastSeen, lastValidated
        ) = try row.decode(
            (String, String, String, String, String, String, String, String, String, String, Double, Double, String, Double, Double).self)
        guard let timeline = HandoffTimeline(json: timelineText) else {
            throw StoreError("rp_sessions row has an unreadable timeline")
        }
        self.init(
            idHash: idHash, clientID: clientID, loginSID: loginSID, createdByJTI: createdByJTI, returnTo: returnTo,
            identity: Identity(subject: subject, username: username, displayName: displayName, email: email, groups: GroupName.split(groups)),
            createdAt: Date(timeIntervalSince1970: createdAt), expiresAt: Date(timeIntervalSince1970: expiresAt), timeline: timeline,
            lastSeen: Date(timeIntervalSince1970: lastSeen), lastValidated: Date(timeIntervalSince1970: lastValidated))
    }
}

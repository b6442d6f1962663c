import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore {
    /// Removes expired used tokens and sessions, relying-party sessions idle beyond their
    /// client's idle timeout in `idleTimeouts` (by client id) by more than
    /// ``SessionLimits/idlePruneMargin``, logout deliveries past their deadline, and the
    /// sign-in throttle's counts that no longer count; returns how many rows. As
    /// `SQLiteStore.prune(now:idleTimeouts:)` does, in one transaction.
    @discardableResult
    public func prune(now: Date, idleTimeouts: [String: TimeInterval] = [:]) async throws -> Int {
        let at = now.timeIntervalSince1970
        let timeouts = idleTimeouts.sorted { $0.key < $1.key }
        let clients = timeouts.map(\.key)
        // Stored last_seen lags the last use (the gate writes it coarsely and late): only
        // a session idle by more than the margin is surely idle.
        let idleBefore = timeouts.map { at - ($0.value + SessionLimits.idlePruneMargin) }
        return try await transaction("prune") { db in
            var removed = try await db.execute(
                """
                DELETE FROM rp_sessions r USING unnest(\(clients)::text[], \(idleBefore)::float8[]) AS i(client_id, before)
                WHERE r.client_id = i.client_id AND r.last_seen < i.before RETURNING 1
                """)
            // Login sessions past their absolute expiry go without a logout message: every
            // RP session was capped at that expiry. Deliveries past their deadline go too.
            removed += try await db.execute("DELETE FROM used_tokens WHERE until < \(at) RETURNING 1")
            removed += try await db.execute("DELETE FROM rp_sessions WHERE expires_at < \(at) RETURNING 1")
            removed += try await db.execute("DELETE FROM login_sessions WHERE expires_at < \(at) RETURNING 1")
            removed += try await db.execute("DELETE FROM logout_deliveries WHERE deadline < \(at) RETURNING 1")
            removed += try await db.execute("DELETE FROM sign_in_failures WHERE keep_until < \(at) RETURNING 1")
            removed += try await db.execute("DELETE FROM sign_in_reservations WHERE expires_at < \(at) RETURNING 1")
            return removed
        }
    }

    static let tables = [
        "users", "login_sessions", "session_lookups", "logout_deliveries", "used_tokens", "rp_sessions",
    ]

    /// Rows in each of Baton's tables, by name, as `SQLiteStore.rowCounts()` gives them.
    public func rowCounts() async throws -> [String: Int] {
        let sql = Self.tables.map { "SELECT '\($0)', count(*)::bigint FROM \($0)" }.joined(separator: " UNION ALL ")
        let counts = try await rows(PostgresQuery(unsafeSQL: sql), "count rows") { try $0.decode((String, Int).self) }
        return Dictionary(uniqueKeysWithValues: counts)
    }
}

extension PostgresStore: StoreProbe {
    /// `SELECT 1`, answered within 2 s or a ``StoreError``.
    public func probe() async throws {
        let client = client
        let logger = logger
        let location = location
        do {
            _ = try await withDeadline(.seconds(2), message: "PostgreSQL at \(location.endpoint) did not answer a probe within 2 s") {
                try await client.query("SELECT 1", logger: logger).collect()
            }
        } catch {
            throw Self.storeError(error, "probe", location)
        }
    }
}

extension PostgresStore: KeyRingStore {
    /// What names the ring in errors about its contents.
    static let keyRingSource = "the database's signing key ring"

    public func keyRing() async throws -> SigningKeyRing? {
        let text = try await rows("SELECT ring FROM signing_key_ring WHERE id = 1", "read the key ring") { try $0.decode(String?.self) }
        guard let encoded = text.first ?? nil else { return nil }
        return try SigningKeyRing(encoded: Data(encoded.utf8), source: Self.keyRingSource)
    }

    public func updateKeyRing(_ change: @escaping @Sendable (SigningKeyRing?) throws -> SigningKeyRing) async throws -> SigningKeyRing {
        try await transaction("update the key ring") { db -> SigningKeyRing in
            // The row lock makes read-change-write one step against every other writer
            // (a replica creating the first key, `baton keys rotate`): none is lost.
            let current = try await db.rows("SELECT ring FROM signing_key_ring WHERE id = 1 FOR UPDATE") {
                try $0.decode(String?.self)
            }
            guard current.count == 1 else { throw StoreError("the signing_key_ring row is missing") }
            let ring: SigningKeyRing
            do {
                ring = try change(try current[0].map { try SigningKeyRing(encoded: Data($0.utf8), source: Self.keyRingSource) })
            } catch {
                throw CallerError(error: error)
            }
            let text = String(decoding: try ring.encoded(), as: UTF8.self)
            try await db.execute(
                "UPDATE signing_key_ring SET ring = \(text), updated_at = \(Date().timeIntervalSince1970) WHERE id = 1")
            return ring
        }
    }
}

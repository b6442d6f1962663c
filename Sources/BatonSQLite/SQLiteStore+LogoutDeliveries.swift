import BatonCore
import Foundation
import GRDB

extension SQLiteStore: LogoutDeliveryStore {
    public func claimDueLogoutDeliveries(
        now: Date, limit: Int, perClient: Int, excludedClients: Set<String>, leaseUntil: Date
    ) async throws -> [LogoutDelivery] {
        // A look first: the poll that finds nothing due writes nothing.
        guard try await scan({ db in try Self.due(db, now: now, limit: 1, perClient: perClient, excluded: excludedClients) })
            .isEmpty == false
        else { return [] }
        return try await write { db in
            let due = try Self.due(db, now: now, limit: limit, perClient: perClient, excluded: excludedClients)
            for delivery in due {
                try db.execute(
                    sql: "UPDATE logout_deliveries SET next_attempt_at = ? WHERE id = ?", arguments: [leaseUntil.sqliteSeconds, delivery.id])
            }
            return due
        }
    }

    static func due(_ db: Database, now: Date, limit: Int, perClient: Int, excluded: Set<String>) throws -> [LogoutDelivery] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM (
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY next_attempt_at, id) AS rank
                    FROM logout_deliveries WHERE next_attempt_at <= ?)
                WHERE rank <= ? ORDER BY next_attempt_at, id
                """,
            arguments: [now.sqliteSeconds, perClient]
        ).map(LogoutDelivery.init(row:)).filter { !excluded.contains($0.clientID) }.prefix(limit).map { $0 }
    }

    public func pendingLogoutDeliveries() async throws -> [LogoutDelivery] {
        try await scan { db in
            try Row.fetchAll(db, sql: "SELECT * FROM logout_deliveries ORDER BY id").map(LogoutDelivery.init(row:))
        }
    }

    public func rescheduleLogoutDelivery(id: Int64, attempts: Int, nextAttemptAt: Date, lastError: String) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE logout_deliveries SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                arguments: [attempts, nextAttemptAt.sqliteSeconds, String(lastError.prefix(200)), id])
        }
    }

    public func logoutBacklog() async throws -> LogoutBacklog {
        try await scan { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM logout_deliveries")
            let oldest: Double? = row?["oldest"]
            return LogoutBacklog(pending: row?["pending"] ?? 0, oldestQueuedAt: oldest.map(Date.init(sqliteSeconds:)))
        }
    }

    public func removeLogoutDelivery(id: Int64) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM logout_deliveries WHERE id = ?", arguments: [id])
        }
    }
}

extension LogoutDelivery {
    init(row: Row) {
        self.init(
            id: row["id"], sid: row["sid"], clientID: row["client_id"], createdAt: Date(sqliteSeconds: row["created_at"]),
            nextAttemptAt: Date(sqliteSeconds: row["next_attempt_at"]), attempts: row["attempts"],
            deadline: Date(sqliteSeconds: row["deadline"]), lastError: row["last_error"])
    }
}

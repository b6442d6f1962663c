import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore: LogoutDeliveryStore {
    public func claimDueLogoutDeliveries(
        now: Date, limit: Int, perClient: Int, excludedClients: Set<String>, leaseUntil: Date
    ) async throws -> [LogoutDelivery] {
        let at = now.timeIntervalSince1970
        // One statement: the rows are locked (skipping those another dispatcher is
        // claiming at this moment) and their next attempt pushed to the lease before any
        // other transaction can see them due again. The `next_attempt_at <= now` on the
        // locked table itself makes PostgreSQL recheck a row that another claim committed
        // meanwhile, so that it is not claimed twice.
        let claimed = try await rows(
            """
            WITH ranked AS (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY next_attempt_at, id) AS rank
                FROM logout_deliveries
                WHERE next_attempt_at <= \(at) AND client_id <> ALL(\(excludedClients.sorted()))
            ), claimed AS (
                SELECT d.id, d.next_attempt_at AS was_due
                FROM logout_deliveries d JOIN ranked r ON r.id = d.id
                WHERE r.rank <= \(perClient) AND d.next_attempt_at <= \(at)
                ORDER BY d.next_attempt_at, d.id
                LIMIT \(limit)
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE logout_deliveries d SET next_attempt_at = \(leaseUntil.timeIntervalSince1970)
            FROM claimed c WHERE d.id = c.id
            RETURNING d.id, d.sid, d.client_id, d.created_at, c.was_due, d.attempts, d.deadline, d.last_error
            """, "claim due logout deliveries", as: LogoutDelivery.init(row:))
        // The rows as they were, oldest due first (RETURNING keeps no order).
        return claimed.sorted { ($0.nextAttemptAt, $0.id) < ($1.nextAttemptAt, $1.id) }
    }

    public func pendingLogoutDeliveries() async throws -> [LogoutDelivery] {
        try await rows(
            """
            SELECT id, sid, client_id, created_at, next_attempt_at, attempts, deadline, last_error
            FROM logout_deliveries ORDER BY id
            """, "list pending logout deliveries", as: LogoutDelivery.init(row:))
    }

    public func rescheduleLogoutDelivery(id: Int64, attempts: Int, nextAttemptAt: Date, lastError: String) async throws {
        try await execute(
            """
            UPDATE logout_deliveries SET attempts = \(attempts), next_attempt_at = \(nextAttemptAt.timeIntervalSince1970),
                last_error = \(String(lastError.prefix(200)))
            WHERE id = \(id)
            """, "reschedule a logout delivery")
    }

    public func removeLogoutDelivery(id: Int64) async throws {
        try await execute("DELETE FROM logout_deliveries WHERE id = \(id)", "remove a logout delivery")
    }

    public func logoutBacklog() async throws -> LogoutBacklog {
        let summary = try await rows(
            "SELECT COUNT(*)::bigint, MIN(created_at) FROM logout_deliveries", "count pending logout deliveries",
            as: { row in try row.decode((Int64, Double?).self) })
        let (pending, oldest) = summary.first ?? (0, nil)
        return LogoutBacklog(pending: Int(pending), oldestQueuedAt: oldest.map(Date.init(timeIntervalSince1970:)))
    }
}

extension LogoutDelivery {
    init(row: PostgresRow) throws {
        let (id, sid, clientID, createdAt, nextAttemptAt, attempts, deadline, lastError) = try row.decode(
            (Int64, String, String, Double, Double, Int, Double, String?).self)
        self.init(
            id: id, sid: sid, clientID: clientID, createdAt: Date(timeIntervalSince1970: createdAt),
            nextAttemptAt: Date(timeIntervalSince1970: nextAttemptAt), attempts: attempts,
            deadline: Date(timeIntervalSince1970: deadline), lastError: lastError)
    }
}

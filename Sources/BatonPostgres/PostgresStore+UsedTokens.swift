import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore: UsedTokenStore {
    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        // One statement: the primary key decides, across connections, processes and
        // replicas alike. RETURNING yields the row only to the one insert that made it;
        // every other finds the conflict and inserts nothing. Autocommitted with
        // synchronous_commit = on: durable before this returns.
        let inserted = try await execute(
            """
            INSERT INTO used_tokens (issuer, jti, until) VALUES (\(issuer), \(jti), \(until.timeIntervalSince1970))
            ON CONFLICT (issuer, jti) DO NOTHING RETURNING 1
            """, "burn a jti")
        return inserted == 1 ? .burned : .alreadyUsed
    }

    public func isBurned(issuer: String, jti: String) async throws -> Bool {
        try await execute("SELECT 1 FROM used_tokens WHERE issuer = \(issuer) AND jti = \(jti)", "look up a jti") == 1
    }

    @discardableResult
    public func pruneUsedTokens(before date: Date) async throws -> Int {
        try await execute("DELETE FROM used_tokens WHERE until < \(date.timeIntervalSince1970) RETURNING 1", "prune used tokens")
    }
}

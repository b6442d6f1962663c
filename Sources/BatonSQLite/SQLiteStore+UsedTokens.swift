import BatonCore
import Foundation
import GRDB

extension SQLiteStore: UsedTokenStore {
    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        // One statement in one write transaction: SQLite's primary key decides, across
        // threads and processes alike, and the transaction is committed (synchronous =
        // FULL) before this returns.
        try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO used_tokens (issuer, jti, until) VALUES (?, ?, ?)",
                arguments: [issuer, jti, until.sqliteSeconds])
            return db.changesCount == 1 ? .burned : .alreadyUsed
        }
    }

    @discardableResult
    public func pruneUsedTokens(before date: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM used_tokens WHERE until < ?", arguments: [date.sqliteSeconds])
            return db.changesCount
        }
    }
}

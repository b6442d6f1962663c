import BatonCore
import Foundation
import GRDB

extension SQLiteStore: UsedTokenStore {
    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        // One statement: SQLite's primary key decides, across threads and processes alike,
        // and the group transaction holding it is committed (synchronous = FULL) before
        // this returns.
        try await write { db in try Self.burn(db, issuer: issuer, jti: jti, until: until) }
    }

    public func isBurned(issuer: String, jti: String) async throws -> Bool {
        try read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM used_tokens WHERE issuer = ? AND jti = ?"), arguments: [issuer, jti]) ?? false
        }
    }

    @discardableResult
    public func pruneUsedTokens(before date: Date) async throws -> Int {
        try await write { db in
            try db.cachedStatement(sql: "DELETE FROM used_tokens WHERE until < ?").execute(arguments: [date.sqliteSeconds])
            return db.changesCount
        }
    }

    static func burn(_ db: Database, issuer: String, jti: String, until: Date) throws -> BurnOutcome {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO used_tokens (issuer, jti, until) VALUES (?, ?, ?)").execute(arguments: [issuer, jti, until.sqliteSeconds])
        return db.changesCount == 1 ? .burned : .alreadyUsed
    }
}

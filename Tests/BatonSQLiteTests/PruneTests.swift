import Foundation
import GRDB
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// `prune(now:)` removes what has expired, and nothing that still lives.
@Suite("SQLiteStore: pruning")
struct PruneTests {
    private func count(_ table: String, in store: SQLiteStore) async throws -> Int {
        try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }

    @Test("prune(now:) removes expired tokens and sessions only")
    func pruneExpired() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-old", userID: "user-1", secretHash: "h-old", expiresAt: at(-1)))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-live", userID: "user-1", secretHash: "h-live", expiresAt: at(1)))
            try await store.insertRPSession(Records.rpSession("rp-old", expiresAt: at(-60)))
            try await store.insertRPSession(Records.rpSession("rp-live", expiresAt: at(60)))
            _ = try await store.burn(issuer: "iss", jti: "jti-old", until: at(-2))
            _ = try await store.burn(issuer: "iss", jti: "jti-live", until: at(2))

            #expect(try await store.prune(now: at(0)) == 3)

            #expect(try await store.loginSession(sid: "sid-old") == nil)
            #expect(try await store.loginSession(sid: "sid-live") != nil)
            #expect(try await store.rpSession(idHash: "rp-old") == nil)
            #expect(try await store.rpSession(idHash: "rp-live") != nil)
            #expect(try await store.burn(issuer: "iss", jti: "jti-live", until: at(2)) == .alreadyUsed)
            #expect(try await store.burn(issuer: "iss", jti: "jti-old", until: at(-2)) == .burned)
            #expect(try await store.user(id: "user-1") != nil)

            #expect(try await store.prune(now: at(0)) == 1)  // the jti-old just burned again
        }
    }

    @Test("prune on an empty store removes nothing")
    func pruneEmpty() async throws {
        try await withTemporaryStore { store async throws in
            #expect(try await store.prune(now: at(0)) == 0)
        }
    }
}

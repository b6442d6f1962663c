import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// Login sessions are found by the hash of their cookie secret or by their public
/// sid; back-channel lookups are remembered once per client.
@Suite("SQLiteStore: login sessions and lookups")
struct LoginSessionStoreTests {
    private func storeWithAlice(_ body: (SQLiteStore) async throws -> Void) async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            try await body(store)
        }
    }

    @Test("handoffs are remembered once per client, sorted, with the first time")
    func lookupsDedupe() async throws {
        try await storeWithAlice { store in
            try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1"))
            #expect(try await store.clientsHandedTo(sid: "sid-1") == [])
            try await store.recordHandoff(sid: "sid-1", clientID: "reports", at: at(1))
            try await store.recordHandoff(sid: "sid-1", clientID: "dashboard", at: at(2))
            try await store.recordHandoff(sid: "sid-1", clientID: "reports", at: at(3))
            try await store.recordHandoff(sid: "sid-1", clientID: "dashboard", at: at(4))
            #expect(try await store.clientsHandedTo(sid: "sid-1") == ["dashboard", "reports"])
            let times = try await store.pool.read { db in
                try Double.fetchAll(db, sql: "SELECT looked_up_at FROM session_lookups WHERE sid = 'sid-1' ORDER BY client_id")
            }
            #expect(times == [at(2).timeIntervalSince1970, at(1).timeIntervalSince1970])
        }
    }

}

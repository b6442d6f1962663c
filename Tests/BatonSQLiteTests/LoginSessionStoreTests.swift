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

    @Test("a session is found by its secret hash and by its sid, never by the other")
    func insertAndFind() async throws {
        try await storeWithAlice { store in
            let secret = Secrets.random()
            let session = Records.loginSession(sid: "sid-public", userID: "user-1", secretHash: Secrets.hash(secret))
            try await store.insertLoginSession(session)
            #expect(try await store.loginSession(secretHash: Secrets.hash(secret)) == session)
            #expect(try await store.loginSession(sid: "sid-public") == session)
            #expect(try await store.loginSession(secretHash: secret) == nil)
            #expect(try await store.loginSession(secretHash: "sid-public") == nil)
            #expect(try await store.loginSession(sid: Secrets.hash(secret)) == nil)
            #expect(try await store.loginSession(sid: "sid-other") == nil)
        }
    }

    @Test("a session needs an existing user, a unique sid and a unique secret hash")
    func constraints() async throws {
        try await storeWithAlice { store in
            try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1"))
            await #expect(throws: StoreError.self) {
                try await store.insertLoginSession(Records.loginSession(sid: "sid-2", userID: "no-such-user", secretHash: "hash-2"))
            }
            await #expect(throws: StoreError.self) {
                try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-3"))
            }
            await #expect(throws: StoreError.self) {
                try await store.insertLoginSession(Records.loginSession(sid: "sid-4", userID: "user-1", secretHash: "hash-1"))
            }
        }
    }

    @Test("touch moves last_seen only")
    func touch() async throws {
        try await storeWithAlice { store in
            let session = Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1")
            try await store.insertLoginSession(session)
            try await store.touchLoginSession(sid: "sid-1", at: at(120))
            var expected = session
            expected.lastSeen = at(120)
            #expect(try await store.loginSession(sid: "sid-1") == expected)
        }
    }

    @Test("ending a session removes it once and takes its lookups with it")
    func end() async throws {
        try await storeWithAlice { store in
            try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1"))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-2", userID: "user-1", secretHash: "hash-2"))
            try await store.recordHandoff(sid: "sid-1", clientID: "dashboard", at: at(5))
            try await store.recordHandoff(sid: "sid-2", clientID: "reports", at: at(5))
            #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: Date()) != nil)
            #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: Date()) == nil)
            #expect(try await store.loginSession(sid: "sid-1") == nil)
            #expect(try await store.loginSession(secretHash: "hash-1") == nil)
            #expect(try await store.clientsHandedTo(sid: "sid-1") == [])
            #expect(try await store.loginSession(sid: "sid-2") != nil)
            #expect(try await store.clientsHandedTo(sid: "sid-2") == ["reports"])
            #expect(try await store.endLoginSession(sid: "never-existed", queueLogoutAt: Date()) == nil)
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

    @Test("a lookup for a session that does not exist is refused")
    func lookupForUnknownSession() async throws {
        try await storeWithAlice { store async throws in
            await #expect(throws: StoreError.self) {
                try await store.recordHandoff(sid: "no-such-sid", clientID: "dashboard", at: at(1))
            }
            #expect(try await store.clientsHandedTo(sid: "no-such-sid") == [])
        }
    }
}

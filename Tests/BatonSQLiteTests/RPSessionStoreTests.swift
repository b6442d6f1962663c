import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

@Suite("SQLiteStore: relying-party sessions")
struct RPSessionStoreTests {
    @Test("a session round-trips with its timeline, keyed by its id hash")
    func roundTrip() async throws {
        try await withTemporaryStore { store in
            let session = Records.rpSession(Secrets.hash("cookie-secret"))
            try await store.insertRPSession(session)
            #expect(try await store.rpSession(idHash: Secrets.hash("cookie-secret")) == session)
            #expect(try await store.rpSession(idHash: "cookie-secret") == nil)
        }
    }

    @Test("delete by id hash, and by login sid for one client only")
    func delete() async throws {
        try await withTemporaryStore { store in
            try await store.insertRPSession(Records.rpSession("a", loginSID: "sid-1"))
            try await store.insertRPSession(Records.rpSession("b", loginSID: "sid-1"))
            try await store.insertRPSession(Records.rpSession("c", loginSID: "sid-1", clientID: "reports"))
            try await store.insertRPSession(Records.rpSession("d", loginSID: "sid-2"))
            #expect(try await store.deleteRPSession(idHash: "a") == true)
            #expect(try await store.deleteRPSession(idHash: "a") == false)
            #expect(try await store.deleteRPSessions(loginSID: "sid-1", clientID: "dashboard") == 1)
            #expect(try await store.rpSession(idHash: "b") == nil)
            #expect(try await store.rpSession(idHash: "c") != nil)
            #expect(try await store.rpSession(idHash: "d") != nil)
        }
    }
}

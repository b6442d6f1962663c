import Foundation
import GRDB
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// Nobody can grow the stores without end: LoginService caps a user's login sessions.
/// The store-level caps and idle pruning are held to every engine in
/// StoreConformanceTests.
@Suite("Session limits: caps per person")
struct SessionLimitsTests {
    @Test("the 21st sign-in of a user ends the oldest session first, with its back-channel logouts queued")
    func loginSessionsPerUserAreCapped() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            try await store.insertUser(Records.user("user-2", "bob"))
            let clock = ManualClock(at(0))
            let service = LoginService(store: store, hasher: PasswordHasher(cost: 4), clock: clock)
            let alice = try #require(try await store.user(id: "user-1"))
            let bob = try #require(try await store.user(id: "user-2"))
            let bobs = try await service.startSession(for: bob, userAgent: "bob's browser").session
            var sids: [String] = []
            for _ in 0..<SessionLimits.loginSessionsPerUser {
                sids.append(try await service.startSession(for: alice, userAgent: "test").session.sid)
                clock.advance(by: 1)
            }
            // The oldest was handed to two relying parties; the second oldest to one.
            try await store.recordHandoff(sid: sids[0], clientID: "dashboard", at: clock.now())
            try await store.recordHandoff(sid: sids[0], clientID: "reports", at: clock.now())
            try await store.recordHandoff(sid: sids[1], clientID: "dashboard", at: clock.now())
            #expect(try await store.loginSessions(userID: "user-1").count == 20)
            #expect(try await store.pendingLogoutDeliveries().isEmpty)

            let newest = try await service.startSession(for: alice, userAgent: "test").session
            let live = try await store.loginSessions(userID: "user-1").map(\.sid)
            #expect(live.count == SessionLimits.loginSessionsPerUser)
            #expect(live.first == newest.sid)
            #expect(!live.contains(sids[0]) && live.contains(sids[1]))
            #expect(try await store.loginSession(sid: sids[0]) == nil)
            let queued = try await store.pendingLogoutDeliveries().map { "\($0.sid) \($0.clientID)" }.sorted()
            #expect(queued == ["\(sids[0]) dashboard", "\(sids[0]) reports"])
            // Another user's session is not theirs to lose.
            #expect(try await store.loginSession(sid: bobs.sid) != nil)

            clock.advance(by: 1)
            _ = try await service.startSession(for: alice, userAgent: "test")
            #expect(try await store.loginSessions(userID: "user-1").count == SessionLimits.loginSessionsPerUser)
            #expect(try await store.loginSession(sid: sids[1]) == nil)
            #expect(try await store.pendingLogoutDeliveries().map(\.sid).filter { $0 == sids[1] } == [sids[1]])
        }
    }

}

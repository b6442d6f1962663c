import BatonCore
import Foundation
import Testing

/// Login sessions: found by secret hash or sid, capped per user, ended with their
/// back-channel logouts queued in the same transaction.
@Suite("Conformance: login sessions and handoffs")
struct LoginSessionConformanceTests {
    private func withAlice(_ engine: Engine, _ body: (any ConformanceStore, TestDatabase) async throws -> Void) async throws {
        try await withStore(engine) { store, database async throws in
            try await store.insertUser(Records.user("user-1", "alice"))
            try await body(store, database)
        }
    }

    @Test("a session is found by its secret hash and by its sid, never by the other", arguments: Engine.underTest)
    func insertAndFind(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            var session = Records.loginSession(sid: "sid-public", userID: "user-1", secretHash: Secrets.hash("secret"))
            session.lastSeen = at(0).addingTimeInterval(0.375)
            try await store.insertLoginSession(session)
            #expect(try await store.loginSession(secretHash: Secrets.hash("secret")) == session)
            #expect(try await store.loginSession(sid: "sid-public") == session)
            #expect(try await store.loginSession(secretHash: "secret") == nil)
            #expect(try await store.loginSession(secretHash: "sid-public") == nil)
            #expect(try await store.loginSession(sid: Secrets.hash("secret")) == nil)
        }
    }

    @Test("a session needs an existing user, a unique sid and a unique secret hash", arguments: Engine.underTest)
    func constraints(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
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

    @Test("touch moves last_seen only; sessions are listed newest first", arguments: Engine.underTest)
    func touchAndList(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            for index in 0..<3 {
                var session = Records.loginSession(sid: "sid-\(index)", userID: "user-1", secretHash: "hash-\(index)")
                session.authTime = at(index)
                try await store.insertLoginSession(session)
            }
            try await store.touchLoginSession(sid: "sid-1", at: at(120).addingTimeInterval(0.5))
            #expect(try await store.loginSession(sid: "sid-1")?.lastSeen == at(120).addingTimeInterval(0.5))
            #expect(try await store.loginSession(sid: "sid-1")?.authTime == at(1))
            #expect(try await store.loginSessions(userID: "user-1").map(\.sid) == ["sid-2", "sid-1", "sid-0"])
            #expect(try await store.loginSessions(userID: "user-2") == [])
        }
    }

    @Test("stale sessions: past their absolute expiry, or idle since before the bound", arguments: Engine.underTest)
    func stale(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            try await store.insertLoginSession(Records.loginSession(sid: "expired", userID: "user-1", secretHash: "h1", expiresAt: at(100)))
            try await store.insertLoginSession(Records.loginSession(sid: "live", userID: "user-1", secretHash: "h2", expiresAt: at(9000)))
            try await store.insertLoginSession(Records.loginSession(sid: "idle", userID: "user-1", secretHash: "h3", expiresAt: at(9000)))
            try await store.touchLoginSession(sid: "live", at: at(500))
            try await store.touchLoginSession(sid: "expired", at: at(500))
            let stale = try await store.staleLoginSessions(now: at(100), idleBefore: at(400)).sorted()
            #expect(stale == ["expired", "idle"])
        }
    }

    @Test("handoffs are remembered once per client, sorted by code point; unknown sessions refused", arguments: Engine.underTest)
    func handoffs(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1"))
            #expect(try await store.clientsHandedTo(sid: "sid-1") == [])
            for client in ["reports", "dashboard", "reports", "Wiki", "dashboard"] {
                try await store.recordHandoff(sid: "sid-1", clientID: client, at: at(1))
            }
            #expect(try await store.clientsHandedTo(sid: "sid-1") == ["Wiki", "dashboard", "reports"])
            await #expect(throws: StoreError.self) {
                try await store.recordHandoff(sid: "no-such-sid", clientID: "dashboard", at: at(1))
            }
            #expect(try await store.clientsHandedTo(sid: "no-such-sid") == [])
        }
    }

    @Test("ending a session removes it once, queues a logout per client handed to, and takes its lookups", arguments: Engine.underTest)
    func end(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            try await store.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1", expiresAt: at(7200)))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-2", userID: "user-1", secretHash: "hash-2"))
            try await store.recordHandoff(sid: "sid-1", clientID: "reports", at: at(5))
            try await store.recordHandoff(sid: "sid-1", clientID: "dashboard", at: at(5))
            try await store.recordHandoff(sid: "sid-2", clientID: "reports", at: at(5))
            let now = at(60).addingTimeInterval(0.5)
            #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: now) == ["dashboard", "reports"])
            #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: now) == nil)
            #expect(try await store.endLoginSession(sid: "never-existed", queueLogoutAt: now) == nil)
            #expect(try await store.loginSession(sid: "sid-1") == nil)
            #expect(try await store.clientsHandedTo(sid: "sid-1") == [])
            #expect(try await store.clientsHandedTo(sid: "sid-2") == ["reports"])
            let queued = try await store.pendingLogoutDeliveries()
            #expect(queued.map { "\($0.sid) \($0.clientID)" }.sorted() == ["sid-1 dashboard", "sid-1 reports"])
            for delivery in queued {
                #expect(delivery.createdAt == now && delivery.nextAttemptAt == now)
                #expect(delivery.attempts == 0 && delivery.lastError == nil)
                #expect(delivery.deadline == at(7200))
            }
        }
    }

    @Test("of 16 concurrent ends of one session across two store instances, one ends it", arguments: Engine.underTest)
    func concurrentEnds(_ engine: Engine) async throws {
        try await withAlice(engine) { first, database async throws in
            let second = try await database.open()
            try await first.insertLoginSession(Records.loginSession(sid: "sid-1", userID: "user-1", secretHash: "hash-1"))
            try await first.recordHandoff(sid: "sid-1", clientID: "dashboard", at: at(1))
            let ended = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<16 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask { (try? await store.endLoginSession(sid: "sid-1", queueLogoutAt: at(2))) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(ended == 1)
            #expect(try await second.pendingLogoutDeliveries().count == 1)
        }
    }

    @Test("the cap ends exactly the oldest beyond the limit with their logouts queued, in the insert's transaction", arguments: Engine.underTest)
    func cap(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            for index in 0..<5 {
                var session = Records.loginSession(sid: "sid-\(index)", userID: "user-1", secretHash: "h-\(index)")
                session.authTime = at(index)
                try await store.insertLoginSession(session)
            }
            try await store.recordHandoff(sid: "sid-0", clientID: "dashboard", at: at(5))
            try await store.recordHandoff(sid: "sid-0", clientID: "reports", at: at(5))
            try await store.recordHandoff(sid: "sid-3", clientID: "dashboard", at: at(5))
            var next = Records.loginSession(sid: "sid-new", userID: "user-1", secretHash: "h-new")
            next.authTime = at(10)
            #expect(try await store.insertLoginSession(next, keepingAtMost: 3, queueLogoutAt: at(10)).sorted() == ["sid-0", "sid-1", "sid-2"])
            #expect(try await store.loginSessions(userID: "user-1").map(\.sid) == ["sid-new", "sid-4", "sid-3"])
            #expect(try await store.pendingLogoutDeliveries().map { "\($0.sid) \($0.clientID)" }.sorted() == ["sid-0 dashboard", "sid-0 reports"])
            // A failed insert (a sid taken) ends nothing: the transaction rolls back.
            var taken = Records.loginSession(sid: "sid-4", userID: "user-1", secretHash: "h-other")
            taken.authTime = at(11)
            await #expect(throws: (any Error).self) {
                try await store.insertLoginSession(taken, keepingAtMost: 3, queueLogoutAt: at(11))
            }
            #expect(try await store.loginSessions(userID: "user-1").count == 3)
            #expect(try await store.pendingLogoutDeliveries().count == 2)
        }
    }

    @Test("8 concurrent capped sign-ins of one user across two store instances leave exactly the cap", arguments: Engine.underTest)
    func concurrentCap(_ engine: Engine) async throws {
        try await withAlice(engine) { first, database async throws in
            let second = try await database.open()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<8 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        var session = Records.loginSession(sid: "sid-\(index)", userID: "user-1", secretHash: "h-\(index)")
                        session.authTime = at(index)
                        try await store.insertLoginSession(session, keepingAtMost: 5, queueLogoutAt: at(30))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await first.loginSessions(userID: "user-1").count == 5)
        }
    }

    @Test("the 21st sign-in through LoginService ends the oldest session first", arguments: Engine.underTest)
    func serviceCap(_ engine: Engine) async throws {
        try await withAlice(engine) { store, _ async throws in
            let clock = ManualClock(at(0))
            let service = LoginService(store: store, hasher: PasswordHasher(cost: 4), clock: clock)
            let alice = try #require(try await store.user(id: "user-1"))
            var sids: [String] = []
            for _ in 0..<SessionLimits.loginSessionsPerUser {
                sids.append(try await service.startSession(for: alice, userAgent: "test").session.sid)
                clock.advance(by: 1)
            }
            let newest = try await service.startSession(for: alice, userAgent: "test").session
            let live = try await store.loginSessions(userID: "user-1").map(\.sid)
            #expect(live.count == SessionLimits.loginSessionsPerUser)
            #expect(live.first == newest.sid)
            #expect(!live.contains(sids[0]) && live.contains(sids[1]))
        }
    }
}

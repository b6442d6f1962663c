import Foundation
import GRDB
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// Nobody can grow the stores without end: login sessions per user and relying-party
/// sessions per client and person are capped, and idle relying-party sessions are
/// pruned once their stored last use is surely beyond the idle timeout.
@Suite("Session limits: caps per person, idle pruning")
struct SessionLimitsTests {
    private func count(_ sql: String, in store: SQLiteStore) async throws -> Int {
        try await store.pool.read { db in try Int.fetchOne(db, sql: sql) ?? -1 }
    }

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

    @Test("the store's cap ends exactly the oldest beyond the limit, in the same transaction as the insert")
    func storeCapEndsTheOldest() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            for index in 0..<5 {
                var session = Records.loginSession(sid: "sid-\(index)", userID: "user-1", secretHash: "h-\(index)")
                session.authTime = at(index)
                try await store.insertLoginSession(session)
            }
            var next = Records.loginSession(sid: "sid-new", userID: "user-1", secretHash: "h-new")
            next.authTime = at(10)
            #expect(try await store.insertLoginSession(next, keepingAtMost: 3, queueLogoutAt: at(10)).sorted() == ["sid-0", "sid-1", "sid-2"])
            #expect(try await store.loginSessions(userID: "user-1").map(\.sid) == ["sid-new", "sid-4", "sid-3"])
            // A failed insert (a sid taken) ends nothing: the transaction rolls back.
            var taken = Records.loginSession(sid: "sid-4", userID: "user-1", secretHash: "h-other")
            taken.authTime = at(11)
            await #expect(throws: (any Error).self) {
                try await store.insertLoginSession(taken, keepingAtMost: 3, queueLogoutAt: at(11))
            }
            #expect(try await store.loginSessions(userID: "user-1").count == 3)
        }
    }

    private func rpSession(_ id: String, client: String = "dashboard", subject: String = "user-1", createdAt: Date, lastSeen: Date? = nil)
        -> RPSession
    {
        var session = Records.rpSession(id, clientID: client)
        session.identity.subject = subject
        session.createdAt = createdAt
        session.lastSeen = lastSeen ?? createdAt
        session.lastValidated = createdAt
        return session
    }

    @Test("a relying party keeps at most 20 sessions per person: the oldest goes as the 21st is stored")
    func rpSessionsPerSubjectAreCapped() async throws {
        try await withTemporaryStore { store in
            let limit = SessionLimits.rpSessionsPerSubject
            for index in 0..<limit {
                try await store.insertRPSession(rpSession("rp-\(index)", createdAt: at(index)))
            }
            // Another person and another client's sessions of the same person count apart.
            try await store.insertRPSession(rpSession("other-person", subject: "user-2", createdAt: at(-100)))
            try await store.insertRPSession(rpSession("other-client", client: "reports", createdAt: at(-100)))
            #expect(try await count("SELECT COUNT(*) FROM rp_sessions", in: store) == limit + 2)

            try await store.insertRPSession(rpSession("rp-new", createdAt: at(100)))
            #expect(try await store.rpSession(idHash: "rp-0") == nil)
            #expect(try await store.rpSession(idHash: "rp-1") != nil)
            #expect(try await store.rpSession(idHash: "rp-new") != nil)
            #expect(try await store.rpSession(idHash: "other-person") != nil)
            #expect(try await store.rpSession(idHash: "other-client") != nil)
            #expect(
                try await count("SELECT COUNT(*) FROM rp_sessions WHERE client_id = 'dashboard' AND subject = 'user-1'", in: store)
                    == limit)
        }
    }

    @Test("the pruner deletes relying-party sessions whose stored last use is beyond idle timeout + 120 s, and no others")
    func idleRPSessionsArePruned() async throws {
        try await withTemporaryStore { store in
            let idle = 3600
            let now = at(100_000)
            let margin = Int(SessionLimits.idlePruneMargin)
            func ago(_ seconds: Int) -> Date { now.addingTimeInterval(-TimeInterval(seconds)) }
            // All far from absolute expiry; only their last use differs.
            let sessions = [
                ("long-idle", "dashboard", ago(idle + margin + 600)),
                ("just-beyond", "dashboard", ago(idle + margin + 1)),
                // Idle by the stored value, but the gate may hold a newer use in memory.
                ("within-margin", "dashboard", ago(idle + margin - 1)),
                ("idle-timeout-only", "dashboard", ago(idle + 1)),
                ("fresh", "dashboard", ago(5)),
                // Another relying party with a longer idle timeout in the same file.
                ("reports-idle", "reports", ago(idle + margin + 600)),
                // A client the pruner knows no idle timeout for.
                ("unknown-client", "app", ago(10 * idle)),
            ]
            for (index, (id, client, lastSeen)) in sessions.enumerated() {
                var session = rpSession(id, client: client, subject: "user-\(index)", createdAt: ago(50_000), lastSeen: lastSeen)
                session.expiresAt = now.addingTimeInterval(86_400)
                try await store.insertRPSession(session)
            }
            let removed = try await store.prune(now: now, idleTimeouts: ["dashboard": TimeInterval(idle), "reports": TimeInterval(4 * idle)])
            #expect(removed == 2)
            for (id, _, _) in sessions {
                let expectedGone = ["long-idle", "just-beyond"].contains(id)
                #expect((try await store.rpSession(idHash: id) == nil) == expectedGone, "\(id)")
            }
            // Without idle timeouts the pruner removes only what has expired.
            #expect(try await store.prune(now: now) == 0)
        }
    }
}

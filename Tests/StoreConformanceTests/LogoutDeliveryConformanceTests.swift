import BatonCore
import Foundation
import Testing

/// The back-channel logout queue: claimed under a lease, so that of several dispatchers
/// (replicas) exactly one attempts each delivery, and a dead one's claims fall to
/// another when the lease ends.
@Suite("Conformance: logout deliveries")
struct LogoutDeliveryConformanceTests {
    /// Ends `sessions` sessions, each handed to every one of `clients`, at `endedAt` seconds.
    static func queue(_ store: any ConformanceStore, sessions: Int, clients: [String], endedAt: Int = 0) async throws {
        if try await store.user(id: "user-1") == nil { try await store.insertUser(Records.user("user-1", "alice")) }
        for index in 0..<sessions {
            let sid = "sid-\(endedAt)-\(index)"
            try await store.insertLoginSession(Records.loginSession(sid: sid, userID: "user-1", secretHash: "h-\(sid)", expiresAt: at(86_400)))
            for client in clients { try await store.recordHandoff(sid: sid, clientID: client, at: at(0)) }
            try await store.endLoginSession(sid: sid, queueLogoutAt: at(endedAt))
        }
    }

    @Test("a claim takes what is due, oldest first, at most perClient of a client, none excluded, and leases it", arguments: Engine.underTest)
    func claimRules(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await Self.queue(store, sessions: 4, clients: ["dashboard"], endedAt: 0)
            try await Self.queue(store, sessions: 2, clients: ["reports", "wiki"], endedAt: 5)
            try await Self.queue(store, sessions: 1, clients: ["dashboard"], endedAt: 100)
            let claimed = try await store.claimDueLogoutDeliveries(
                now: at(10), limit: 10, perClient: 3, excludedClients: ["wiki"], leaseUntil: at(40))
            #expect(claimed.map(\.clientID) == ["dashboard", "dashboard", "dashboard", "reports", "reports"])
            // The rows as they were: still due at their old time.
            #expect(claimed.map(\.nextAttemptAt) == [at(0), at(0), at(0), at(5), at(5)])
            #expect(claimed.map(\.id) == claimed.map(\.id).sorted())
            // Leased: not due again before the lease ends.
            let again = try await store.claimDueLogoutDeliveries(now: at(10), limit: 10, perClient: 10, excludedClients: [], leaseUntil: at(40))
            #expect(again.map(\.clientID).sorted() == ["dashboard", "wiki", "wiki"])
            let limited = try await store.claimDueLogoutDeliveries(now: at(200), limit: 2, perClient: 10, excludedClients: [], leaseUntil: at(240))
            #expect(limited.count == 2)
            let pending = try await store.pendingLogoutDeliveries()
            #expect(pending.count == 9)
            #expect(pending.map(\.id) == pending.map(\.id).sorted())
        }
    }

    @Test("the backlog counts every pending delivery and names when the oldest was queued", arguments: Engine.underTest)
    func backlog(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            #expect(try await store.logoutBacklog() == LogoutBacklog(pending: 0, oldestQueuedAt: nil))
            try await Self.queue(store, sessions: 2, clients: ["dashboard", "reports"], endedAt: 5)
            try await Self.queue(store, sessions: 1, clients: ["dashboard"], endedAt: 100)
            let backlog = try await store.logoutBacklog()
            #expect(backlog.pending == 5)
            #expect(backlog.oldestQueuedAt == at(5))
            // The same as the rows say.
            let pending = try await store.pendingLogoutDeliveries()
            #expect(backlog.oldestQueuedAt == pending.map(\.createdAt).min())
        }
    }

    @Test("32 concurrent dispatchers on two store instances claim each of 60 deliveries exactly once", arguments: Engine.underTest)
    func claimedExactlyOnce(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let second = try await database.open()
            try await Self.queue(first, sessions: 20, clients: ["dashboard", "reports", "wiki"])
            let claims = await withTaskGroup(of: [Int64].self) { group in
                for index in 0..<32 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        var mine: [Int64] = []
                        // Bounded: a claim that leased nothing would hand out the same rows forever.
                        for _ in 0..<60 {
                            guard let batch = try? await store.claimDueLogoutDeliveries(
                                now: at(10), limit: 3, perClient: 2, excludedClients: [], leaseUntil: at(70)), !batch.isEmpty
                            else { break }
                            mine += batch.map(\.id)
                        }
                        return mine
                    }
                }
                return await group.reduce(into: [Int64]()) { $0 += $1 }
            }
            #expect(claims.count == 60, "claimed \(claims.count) times")
            #expect(Set(claims).count == 60)
        }
    }

    @Test("a claim whose dispatcher died falls to another store instance once the lease ends", arguments: Engine.underTest)
    func leaseExpiry(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let second = try await database.open()
            try await Self.queue(first, sessions: 2, clients: ["dashboard"])
            let claimed = try await first.claimDueLogoutDeliveries(now: at(10), limit: 10, perClient: 10, excludedClients: [], leaseUntil: at(40))
            #expect(claimed.count == 2)
            // The first dispatcher dies here, holding its claims.
            #expect(try await second.claimDueLogoutDeliveries(now: at(39), limit: 10, perClient: 10, excludedClients: [], leaseUntil: at(69)).isEmpty)
            let taken = try await second.claimDueLogoutDeliveries(now: at(40), limit: 10, perClient: 10, excludedClients: [], leaseUntil: at(70))
            #expect(Set(taken.map(\.id)) == Set(claimed.map(\.id)))
            #expect(taken.allSatisfy { $0.nextAttemptAt == at(40) })
        }
    }

    @Test("reschedule records the failure and the next attempt; remove takes it away", arguments: Engine.underTest)
    func rescheduleAndRemove(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await Self.queue(store, sessions: 2, clients: ["dashboard"])
            let pending = try await store.pendingLogoutDeliveries()
            let long = String(repeating: "x", count: 500)
            try await store.rescheduleLogoutDelivery(id: pending[0].id, attempts: 3, nextAttemptAt: at(90).addingTimeInterval(0.5), lastError: long)
            try await store.removeLogoutDelivery(id: pending[1].id)
            let left = try await store.pendingLogoutDeliveries()
            #expect(left.count == 1)
            #expect(left[0].id == pending[0].id && left[0].attempts == 3 && left[0].nextAttemptAt == at(90).addingTimeInterval(0.5))
            #expect(left[0].lastError == String(repeating: "x", count: 200))
            #expect(try await store.claimDueLogoutDeliveries(now: at(90), limit: 5, perClient: 5, excludedClients: [], leaseUntil: at(99)).isEmpty)
            #expect(try await store.claimDueLogoutDeliveries(now: at(91), limit: 5, perClient: 5, excludedClients: [], leaseUntil: at(99)).count == 1)
        }
    }
}

import BatonCore
import Foundation
import Testing

@Suite("Conformance: relying-party sessions")
struct RPSessionConformanceTests {
    private func session(_ id: String, client: String = "dashboard", subject: String = "user-1", createdAt: Date, lastSeen: Date? = nil)
        -> RPSession
    {
        var session = Records.rpSession(id, clientID: client, subject: subject)
        session.createdAt = createdAt
        session.lastSeen = lastSeen ?? createdAt
        session.lastValidated = createdAt
        return session
    }

    @Test("a session round-trips with its timeline and fractional times, keyed by its id hash", arguments: Engine.underTest)
    func roundTrip(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            var original = Records.rpSession(Secrets.hash("cookie-secret"))
            original.createdAt = at(0).addingTimeInterval(0.125)
            original.lastSeen = at(1).addingTimeInterval(0.5)
            original.lastValidated = at(2).addingTimeInterval(0.75)
            original.expiresAt = at(3600).addingTimeInterval(0.25)
            try await store.insertRPSession(original)
            #expect(try await store.rpSession(idHash: Secrets.hash("cookie-secret")) == original)
            #expect(try await store.rpSession(idHash: "cookie-secret") == nil)
        }
    }

    @Test("delete by id hash, and by login sid for one client only", arguments: Engine.underTest)
    func delete(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await store.insertRPSession(Records.rpSession("a", loginSID: "sid-1"))
            try await store.insertRPSession(Records.rpSession("b", loginSID: "sid-1"))
            try await store.insertRPSession(Records.rpSession("e", loginSID: "sid-1"))
            try await store.insertRPSession(Records.rpSession("c", loginSID: "sid-1", clientID: "reports"))
            try await store.insertRPSession(Records.rpSession("d", loginSID: "sid-2"))
            #expect(try await store.deleteRPSession(idHash: "a") == true)
            #expect(try await store.deleteRPSession(idHash: "a") == false)
            #expect(try await store.deleteRPSessions(loginSID: "sid-1", clientID: "dashboard") == 2)
            #expect(try await store.deleteRPSessions(loginSID: "sid-1", clientID: "dashboard") == 0)
            #expect(try await store.rpSession(idHash: "b") == nil)
            #expect(try await store.rpSession(idHash: "c") != nil)
            #expect(try await store.rpSession(idHash: "d") != nil)
        }
    }

    @Test("a relying party keeps at most 20 sessions per person: the oldest goes as the 21st is stored", arguments: Engine.underTest)
    func cap(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            let limit = SessionLimits.rpSessionsPerSubject
            for index in 0..<limit { try await store.insertRPSession(session("rp-\(index)", createdAt: at(index))) }
            try await store.insertRPSession(session("other-person", subject: "user-2", createdAt: at(-100)))
            try await store.insertRPSession(session("other-client", client: "reports", createdAt: at(-100)))
            try await store.insertRPSession(session("rp-new", createdAt: at(100)))
            #expect(try await store.rpSession(idHash: "rp-0") == nil)
            #expect(try await store.rpSession(idHash: "rp-1") != nil)
            #expect(try await store.rpSession(idHash: "rp-new") != nil)
            #expect(try await store.rpSession(idHash: "other-person") != nil)
            #expect(try await store.rpSession(idHash: "other-client") != nil)
            #expect(try await store.rowCounts()["rp_sessions"] == limit + 2)
            // burn(creating:) is capped the same way.
            _ = try await store.burn(issuer: "iss", jti: "jti-cap", until: at(60), creating: session("rp-burned", createdAt: at(200)))
            #expect(try await store.rpSession(idHash: "rp-1") == nil)
            #expect(try await store.rowCounts()["rp_sessions"] == limit + 2)
        }
    }

    @Test("16 concurrent sign-ins of one person beside 16 earlier, across two store instances, leave exactly the cap", arguments: Engine.underTest)
    func concurrentCap(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let second = try await database.open()
            for index in 0..<16 { try await first.insertRPSession(session("early-\(index)", createdAt: at(-100 + index))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    let store = index.isMultiple(of: 2) ? first : second
                    let created = session("rp-\(index)", createdAt: at(index))
                    group.addTask {
                        if index.isMultiple(of: 3) {
                            _ = try await store.burn(issuer: "iss", jti: "jti-\(index)", until: at(60), creating: created)
                        } else {
                            try await store.insertRPSession(created)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await first.rowCounts()["rp_sessions"] == SessionLimits.rpSessionsPerSubject)
        }
    }

    @Test("refresh batches write last use, revalidation and identity, never moving a time backwards", arguments: Engine.underTest)
    func refresh(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let second = try await database.open()
            try await first.insertRPSession(session("a", createdAt: at(0)))
            try await first.insertRPSession(session("b", createdAt: at(0)))
            let alice2 = Identity(subject: "user-1", username: "alice2", displayName: "Alice Two", email: "a2@example.com", groups: ["ops"])
            try await first.refreshRPSessions([
                RPSessionRefresh(idHash: "a", lastSeen: at(50).addingTimeInterval(0.5), lastValidated: at(40), identity: alice2),
                RPSessionRefresh(idHash: "b", lastSeen: at(30)),
                RPSessionRefresh(idHash: "gone", lastSeen: at(30)),
                // A second refresh of one session in the same batch: the later times win.
                RPSessionRefresh(idHash: "b", lastSeen: at(20), lastValidated: at(25)),
            ])
            // Another replica's older news changes nothing.
            try await second.refreshRPSessions([RPSessionRefresh(idHash: "a", lastSeen: at(10), lastValidated: at(5))])
            let a = try #require(try await second.rpSession(idHash: "a"))
            #expect(a.lastSeen == at(50).addingTimeInterval(0.5) && a.lastValidated == at(40))
            #expect(a.identity == alice2)
            let b = try #require(try await second.rpSession(idHash: "b"))
            #expect(b.lastSeen == at(30) && b.lastValidated == at(25))
            #expect(b.username == "alice" && b.groups == ["staff"])
            #expect(try await second.rpSession(idHash: "gone") == nil)
            try await second.refreshRPSessions([])
        }
    }

    @Test("concurrent refresh batches over the same sessions from two instances all land", arguments: Engine.underTest)
    func concurrentRefresh(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let second = try await database.open()
            let ids = (0..<20).map { "s-\($0)" }
            for id in ids { try await first.insertRPSession(session(id, createdAt: at(0))) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<16 {
                    let store = round.isMultiple(of: 2) ? first : second
                    // Opposite orders, to invite a deadlock.
                    let order = round.isMultiple(of: 2) ? ids : ids.reversed()
                    group.addTask { try await store.refreshRPSessions(order.map { RPSessionRefresh(idHash: $0, lastSeen: at(100 + round)) }) }
                }
                try await group.waitForAll()
            }
            for id in ids { #expect(try await first.rpSession(idHash: id)?.lastSeen == at(115)) }
        }
    }
}

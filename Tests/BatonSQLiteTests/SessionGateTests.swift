import Foundation
import Synchronization
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// The relying party's one decision on every request — its pages and `/sso/auth` —
/// against a real SQLite store and a login host's back channel that answers what it is
/// told.
@Suite("SessionGate: cookie to session, expiry, idle, revalidation, groups, no write per request")
struct SessionGateTests {
    static func gate(
        _ store: any RPSessionStore, _ directory: FakeDirectory, _ clock: ManualClock, allowedGroups: [String] = []
    ) -> SessionGate {
        SessionGate(
            clientID: "dashboard", store: store, directory: directory, clock: clock,
            policy: .init(idleTimeout: 600, revalidateInterval: 30, revalidateGrace: 300, allowedGroups: allowedGroups))
    }

    /// A stored session whose cookie is `cookie`.
    static func insert(_ store: SQLiteStore, cookie: String = "cookie-1", clientID: String = "dashboard", expiresAt: Date = at(3600))
        async throws
    {
        try await store.insertRPSession(Records.rpSession(Secrets.hash(cookie), clientID: clientID, expiresAt: expiresAt))
    }

    static func stored(_ store: SQLiteStore, cookie: String = "cookie-1") async throws -> RPSession? {
        try await store.rpSession(idHash: Secrets.hash(cookie))
    }

    @Test("no cookie, an unknown cookie and another relying party's session are all signed out, and nothing is written")
    func unknownCookies() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let gate = Self.gate(store, FakeDirectory(), clock)
            try await Self.insert(store, cookie: "theirs", clientID: "reports")
            #expect(await gate.check(cookie: nil) == .signedOut(nil))
            #expect(await gate.check(cookie: "") == .signedOut(nil))
            #expect(await gate.check(cookie: "never-issued") == .signedOut(nil))
            #expect(await gate.check(cookie: "theirs") == .signedOut(nil))
            #expect(await gate.check(cookie: String(repeating: "x", count: 4096)) == .signedOut(nil))
            #expect(gate.unwritten == 0)
            #expect(try await Self.stored(store, cookie: "theirs") != nil, "another client's session is not touched")
        }
    }

    @Test("within the interval nothing is asked; after it, a live login session keeps the RP session")
    func revalidatesAtMostEveryInterval() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            let gate = Self.gate(store, directory, clock)
            try await Self.insert(store)
            clock.advance(by: 29)
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(directory.callCount == 0)
            clock.advance(by: 1)
            guard case .admitted(let session) = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(directory.callCount == 1)
            #expect(session.lastValidated == at(30))
            // Learned, not yet written: a request never waits on a write.
            #expect(try await Self.stored(store)?.lastValidated == at(0))
            // The next request inside the interval does not ask again: it sees what was learned.
            clock.advance(by: 10)
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(directory.callCount == 1)
            try await gate.flush()
            #expect(try await Self.stored(store)?.lastValidated == at(30))
            #expect(try await Self.stored(store)?.lastSeen == at(30))
            #expect(gate.unwritten == 0)
        }
    }

    @Test("a burst of requests at revalidation time asks the login host once")
    func concurrentRevalidationsShareOneQuestion() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live, delay: .milliseconds(200))
            let gate = Self.gate(store, directory, clock)
            try await Self.insert(store)
            clock.advance(by: 31)
            let admitted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        if case .admitted = await gate.check(cookie: "cookie-1") { return true }
                        return false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == 40)
            #expect(directory.callCount == 1)
        }
    }

    @Test("many requests write nothing until a flush, which writes every session in one transaction")
    func noWritePerRequest() async throws {
        try await withTemporaryStore { base in
            let store = CountingWrites(base: base)
            let clock = ManualClock(at(0))
            let gate = Self.gate(store, FakeDirectory(), clock)
            for index in 0..<5 { try await Self.insert(base, cookie: "cookie-\(index)") }
            // Inside the touch granularity nothing is even learned.
            for index in 0..<5 { for _ in 0..<20 { _ = await gate.check(cookie: "cookie-\(index)") } }
            #expect(gate.unwritten == 0)
            clock.advance(by: 61)
            for index in 0..<5 { for _ in 0..<20 { _ = await gate.check(cookie: "cookie-\(index)") } }
            #expect(gate.unwritten == 5)
            #expect(store.writes == 0, "200 requests wrote \(store.writes) times")
            #expect(try await Self.stored(base, cookie: "cookie-3")?.lastSeen == at(0))
            try await gate.flush()
            #expect(store.writes == 1)
            #expect(try await Self.stored(base, cookie: "cookie-3")?.lastSeen == at(61))
            #expect(gate.unwritten == 0)
        }
    }

    @Test("idle time counts from the last use learned in memory, before it is written")
    func idleCountsFromLearnedActivity() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory()
            let gate = SessionGate(
                clientID: "dashboard", store: store, directory: directory, clock: clock,
                policy: .init(idleTimeout: 600, revalidateInterval: 0, revalidateGrace: 300))
            try await Self.insert(store)
            clock.advance(by: 500)
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            // 1000 s after sign-in, but only 500 s after the last use: still live.
            clock.advance(by: 500)
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("idled out by a stale last use"); return }
            clock.advance(by: 600)
            #expect(await gate.check(cookie: "cookie-1") == .signedOut(.idle))
            #expect(try await Self.stored(store) == nil)
            #expect(directory.callCount == 0)
        }
    }

    @Test("an ended login session ends the RP session on the next check")
    func endedLoginSession() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let gate = Self.gate(store, FakeDirectory(.ended), clock)
            try await Self.insert(store)
            clock.advance(by: 31)
            #expect(await gate.check(cookie: "cookie-1") == .signedOut(.loginSessionEnded))
            #expect(try await Self.stored(store) == nil)
            #expect(await gate.check(cookie: "cookie-1") == .signedOut(nil))
        }
    }

    @Test("an unreachable login host: the session goes on through the grace period, then ends (fail closed)")
    func unreachableLoginHost() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let gate = Self.gate(store, FakeDirectory(.unavailable), clock)
            try await Self.insert(store)
            for _ in 0..<9 {
                clock.advance(by: 33)  // 297 s in all: still within the grace
                guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("ended within the grace"); return }
            }
            clock.advance(by: 3)
            #expect(await gate.check(cookie: "cookie-1") == .signedOut(.loginHostUnreachable))
            #expect(try await Self.stored(store) == nil)
        }
    }

    @Test("idle and absolute expiry end the session without asking anyone")
    func idleAndAbsolute() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            let gate = Self.gate(store, directory, clock)
            try await Self.insert(store, cookie: "idle")
            try await Self.insert(store, cookie: "old", expiresAt: at(500))
            clock.advance(by: 500)
            #expect(await gate.check(cookie: "old") == .signedOut(.expired))
            clock.advance(by: 100)
            #expect(await gate.check(cookie: "idle") == .signedOut(.idle))
            #expect(directory.callCount == 0)
        }
    }

    @Test("groups come from the login host at every revalidation, and group rules decide who passes")
    func groupsAreRefreshedAndEnforced() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            let gate = Self.gate(store, directory, clock)
            try await Self.insert(store)
            // Stored with ["staff"].
            guard case .admitted(let first) = await gate.check(cookie: "cookie-1", requiredGroups: ["staff"]) else {
                Issue.record("staff not admitted to a staff rule"); return
            }
            #expect(first.groups == ["staff"])
            guard case .notPermitted = await gate.check(cookie: "cookie-1", requiredGroups: ["admins"]) else {
                Issue.record("a staff member passed an admins rule"); return
            }
            guard case .admitted = await gate.check(cookie: "cookie-1", requiredGroups: ["admins", "staff"]) else {
                Issue.record("one of several groups should be enough"); return
            }
            guard case .notPermitted = await gate.check(cookie: "cookie-1", requiredGroups: ["staff", "bad,name"]) else {
                Issue.record("an invalid group name must admit nobody"); return
            }
            // The login host moves alice from staff to ops: seen at the next revalidation.
            directory.set(groups: ["ops"])
            clock.advance(by: 31)
            guard case .notPermitted(let moved) = await gate.check(cookie: "cookie-1", requiredGroups: ["staff"]) else {
                Issue.record("a removed group still admitted"); return
            }
            #expect(moved.groups == ["ops"])
            try await gate.flush()
            #expect(try await Self.stored(store)?.groups == ["ops"])
        }
    }

    @Test("allowed_groups turns away everyone outside them, whatever the request asks")
    func allowedGroups() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let gate = Self.gate(store, FakeDirectory(), clock, allowedGroups: ["admins"])
            try await Self.insert(store)
            guard case .notPermitted = await gate.check(cookie: "cookie-1") else { Issue.record("admitted outside allowed_groups"); return }
            let open = Self.gate(store, FakeDirectory(), clock, allowedGroups: ["admins", "staff"])
            guard case .admitted = await open.check(cookie: "cookie-1") else { Issue.record("a member was refused"); return }
        }
    }

    @Test("a session read is cached a second at most: ended by this gate it is gone at once, by another process within the second")
    func cacheIsBoundedAndForgotten() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let here = Self.gate(store, FakeDirectory(), clock)
            let replica = Self.gate(store, FakeDirectory(), clock)
            try await Self.insert(store, cookie: "mine")
            try await Self.insert(store, cookie: "theirs")
            for cookie in ["mine", "theirs"] {
                guard case .admitted = await here.check(cookie: cookie) else { Issue.record("not admitted"); return }
                guard case .admitted = await replica.check(cookie: cookie) else { Issue.record("not admitted"); return }
            }
            // This process signs one out: forgotten at once, no waiting for the cache.
            try await store.deleteRPSession(idHash: Secrets.hash("mine"))
            here.forget(idHash: Secrets.hash("mine"))
            #expect(await here.check(cookie: "mine") == .signedOut(nil))
            // Another replica's logout: this one sees it within the cache's second.
            let started = ContinuousClock.now
            var seen = false
            while !seen, ContinuousClock.now - started < .seconds(3) {
                seen = await replica.check(cookie: "mine") == .signedOut(nil)
                if !seen { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(seen)
            #expect(ContinuousClock.now - started < .milliseconds(2500), "a replica's cached copy outlived its second by far")
            // A back-channel logout forgets every cached session of that login session.
            try await store.deleteRPSessions(loginSID: "sid-1", clientID: "dashboard")
            here.forget(loginSID: "sid-1")
            #expect(await here.check(cookie: "theirs") == .signedOut(nil))
        }
    }

    @Test("from memory: the check's decision for a fresh cached session, else nil with nothing asked, ended or written")
    func decisionFromMemory() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            // A cache that outlives the test's steps, so that only the rules decide.
            let gate = SessionGate(
                clientID: "dashboard", store: store, directory: directory, clock: clock,
                policy: .init(idleTimeout: 600, revalidateInterval: 30, revalidateGrace: 300, cacheLifetime: .seconds(600)))
            try await Self.insert(store)
            try await Self.insert(store, cookie: "theirs", clientID: "reports")
            #expect(gate.decisionFromMemory(cookie: nil) == .signedOut(nil))
            #expect(gate.decisionFromMemory(cookie: "cookie-1") == nil, "never read: not in memory")
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(await gate.check(cookie: "theirs") == .signedOut(nil))
            #expect(gate.decisionFromMemory(cookie: "theirs") == .signedOut(nil), "another relying party's session never passes")
            clock.advance(by: 10)
            guard case .admitted(let session) = gate.decisionFromMemory(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(session.identity.username == "alice")
            guard case .notPermitted = gate.decisionFromMemory(cookie: "cookie-1", requiredGroups: ["finance"]) else {
                Issue.record("a group rule was not applied")
                return
            }
            // Due for revalidation: only check may ask the login host.
            clock.advance(by: 20)
            #expect(gate.decisionFromMemory(cookie: "cookie-1") == nil)
            #expect(directory.callCount == 0)
            guard case .admitted = await gate.check(cookie: "cookie-1") else { Issue.record("not admitted"); return }
            #expect(directory.callCount == 1)
            guard case .admitted = gate.decisionFromMemory(cookie: "cookie-1") else { Issue.record("not admitted after revalidation"); return }
            // Idle past its timeout: only check may end it, and nothing was ended here.
            clock.advance(by: 601)
            #expect(gate.decisionFromMemory(cookie: "cookie-1") == nil)
            #expect(try await Self.stored(store) != nil)
            #expect(await gate.check(cookie: "cookie-1") == .signedOut(.idle))
            #expect(gate.decisionFromMemory(cookie: "cookie-1") == nil, "an ended session is forgotten")
        }
    }

    @Test("a store that fails lets nothing pass")
    func storeFailure() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory.appendingPathComponent("rp.sqlite").path)
            try await Self.insert(store)
            let gate = Self.gate(FailingReads(base: store), FakeDirectory(), ManualClock(at(0)))
            #expect(await gate.check(cookie: "cookie-1") == .storeUnavailable)
        }
    }
}

/// The real store, counting the write transactions it is asked for.
final class CountingWrites: RPSessionStore {
    let base: SQLiteStore
    private let count = Mutex(0)
    init(base: SQLiteStore) { self.base = base }
    var writes: Int { count.withLock { $0 } }
    func insertRPSession(_ session: RPSession) async throws {
        count.withLock { $0 += 1 }
        try await base.insertRPSession(session)
    }
    func rpSession(idHash: String) async throws -> RPSession? { try await base.rpSession(idHash: idHash) }
    func deleteRPSession(idHash: String) async throws -> Bool {
        count.withLock { $0 += 1 }
        return try await base.deleteRPSession(idHash: idHash)
    }
    func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        count.withLock { $0 += 1 }
        return try await base.deleteRPSessions(loginSID: loginSID, clientID: clientID)
    }
    func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws {
        count.withLock { $0 += 1 }
        try await base.refreshRPSessions(refreshes)
    }
}

/// The real store, whose reads of sessions fail: a disk gone bad.
struct FailingReads: RPSessionStore {
    let base: SQLiteStore
    func insertRPSession(_ session: RPSession) async throws { try await base.insertRPSession(session) }
    func rpSession(idHash: String) async throws -> RPSession? { throw StoreError("disk I/O error") }
    func deleteRPSession(idHash: String) async throws -> Bool { try await base.deleteRPSession(idHash: idHash) }
    func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await base.deleteRPSessions(loginSID: loginSID, clientID: clientID)
    }
    func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws { try await base.refreshRPSessions(refreshes) }
}

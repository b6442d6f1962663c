import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// The relying party's per-request checks, against a real SQLite store and a login
/// host's back channel that answers what it is told.
@Suite("SessionRevalidator: expiry, idle, and the back-channel re-check")
struct SessionRevalidatorTests {
    static func revalidator(_ store: SQLiteStore, _ directory: FakeDirectory, _ clock: ManualClock) -> SessionRevalidator {
        SessionRevalidator(store: store, directory: directory, clock: clock, idleTimeout: 600, interval: 30, grace: 300)
    }

    @Test("within the interval nothing is asked; after it, a live login session keeps the RP session")
    func revalidatesAtMostEveryInterval() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            let revalidator = Self.revalidator(store, directory, clock)
            try await store.insertRPSession(Records.rpSession("s"))
            clock.advance(by: 29)
            #expect(try await revalidator.check(try #require(try await store.rpSession(idHash: "s"))).isSuccess)
            #expect(directory.callCount == 0)
            clock.advance(by: 1)
            #expect(try await revalidator.check(try #require(try await store.rpSession(idHash: "s"))).isSuccess)
            #expect(directory.callCount == 1)
            #expect(try await store.rpSession(idHash: "s")?.lastValidated == at(30))
        }
    }

    @Test("an ended login session ends the RP session on the next check")
    func endedLoginSession() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let revalidator = Self.revalidator(store, FakeDirectory(.ended), clock)
            try await store.insertRPSession(Records.rpSession("s"))
            clock.advance(by: 31)
            let result = try await revalidator.check(try #require(try await store.rpSession(idHash: "s")))
            #expect(result.ending == .loginSessionEnded)
            #expect(try await store.rpSession(idHash: "s") == nil)
        }
    }

    @Test("an unreachable login host: the session goes on through the grace period, then ends (fail closed)")
    func unreachableLoginHost() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let revalidator = Self.revalidator(store, FakeDirectory(.unavailable), clock)
            try await store.insertRPSession(Records.rpSession("s"))
            for _ in 0..<9 {
                clock.advance(by: 33)  // 297 s in all: still within the grace
                #expect(try await revalidator.check(try #require(try await store.rpSession(idHash: "s"))).isSuccess)
            }
            clock.advance(by: 3)
            let result = try await revalidator.check(try #require(try await store.rpSession(idHash: "s")))
            #expect(result.ending == .loginHostUnreachable)
            #expect(try await store.rpSession(idHash: "s") == nil)
        }
    }

    @Test("idle and absolute expiry end the session without asking anyone")
    func idleAndAbsolute() async throws {
        try await withTemporaryStore { store in
            let clock = ManualClock(at(0))
            let directory = FakeDirectory(.live)
            let revalidator = Self.revalidator(store, directory, clock)
            try await store.insertRPSession(Records.rpSession("idle"))
            try await store.insertRPSession(Records.rpSession("old", expiresAt: at(500)))
            clock.advance(by: 500)
            #expect(try await revalidator.check(try #require(try await store.rpSession(idHash: "old"))).ending == .expired)
            clock.advance(by: 100)
            #expect(try await revalidator.check(try #require(try await store.rpSession(idHash: "idle"))).ending == .idle)
            #expect(directory.callCount == 0)
        }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
    var ending: Failure? { if case .failure(let failure) = self { failure } else { nil } }
}

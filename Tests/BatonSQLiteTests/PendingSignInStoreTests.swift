import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// A pending sign-in is taken once, and only while it lives.
@Suite("SQLiteStore: pending sign-ins")
struct PendingSignInStoreTests {
    @Test("take returns the record once, then nothing")
    func singleUse() async throws {
        try await withTemporaryStore { store in
            let pending = Records.pending(Secrets.hash("state-aaaaaaaaaaaaaaaa"), returnTo: "/reports?x=1")
            try await store.insertPendingSignIn(pending)
            #expect(try await store.takePendingSignIn(stateHash: pending.stateHash, now: at(10)) == pending)
            #expect(try await store.takePendingSignIn(stateHash: pending.stateHash, now: at(10)) == nil)
        }
    }

    @Test("concurrent takes of one state: exactly one gets it")
    func concurrentTakes() async throws {
        try await withTemporaryStore { store in
            let pending = Records.pending(Secrets.hash("state-bbbbbbbbbbbbbbbb"))
            try await store.insertPendingSignIn(pending)
            let taken = await withTaskGroup(of: PendingSignIn?.self) { group in
                for _ in 0..<32 {
                    group.addTask { try? await store.takePendingSignIn(stateHash: pending.stateHash, now: at(10)) }
                }
                var found = 0
                for await result in group where result != nil { found += 1 }
                return found
            }
            #expect(taken == 1)
        }
    }

    @Test("an expired record is never returned, and is gone afterwards")
    func expired() async throws {
        try await withTemporaryStore { store in
            let pending = Records.pending("hash-expired", expiresAt: at(300))
            try await store.insertPendingSignIn(pending)
            #expect(try await store.takePendingSignIn(stateHash: "hash-expired", now: at(301)) == nil)
            #expect(try await store.takePendingSignIn(stateHash: "hash-expired", now: at(10)) == nil)

            let boundary = Records.pending("hash-boundary", expiresAt: at(300))
            try await store.insertPendingSignIn(boundary)
            #expect(try await store.takePendingSignIn(stateHash: "hash-boundary", now: at(300)) == nil)
        }
    }

    @Test("an unknown state hash finds nothing, and a state hash is matched exactly")
    func unknown() async throws {
        try await withTemporaryStore { store in
            try await store.insertPendingSignIn(Records.pending("hash-A"))
            #expect(try await store.takePendingSignIn(stateHash: "hash-a", now: at(10)) == nil)
            #expect(try await store.takePendingSignIn(stateHash: "hash-", now: at(10)) == nil)
            #expect(try await store.takePendingSignIn(stateHash: "%", now: at(10)) == nil)
            #expect(try await store.takePendingSignIn(stateHash: "hash-A", now: at(10)) != nil)
        }
    }

    @Test("the same state hash cannot be inserted twice")
    func duplicateInsert() async throws {
        try await withTemporaryStore { store in
            try await store.insertPendingSignIn(Records.pending("hash-dup", returnTo: "/a"))
            await #expect(throws: StoreError.self) {
                try await store.insertPendingSignIn(Records.pending("hash-dup", returnTo: "/evil"))
            }
            #expect(try await store.takePendingSignIn(stateHash: "hash-dup", now: at(10))?.returnTo == "/a")
        }
    }
}

import BatonCore
import Foundation
import Testing

/// The used-token store on every engine: one atomic insert of (issuer, jti) decides,
/// across tasks, connections and store instances (processes, replicas).
@Suite("Conformance: burning jtis")
struct UsedTokenConformanceTests {
    static let issuer = "http://login.localhost:8080"

    static func burnConcurrently(_ stores: [any ConformanceStore], jti: String, tasks: Int = 64) async -> [BurnOutcome?] {
        await withTaskGroup(of: BurnOutcome?.self) { group in
            for index in 0..<tasks {
                let store = stores[index % stores.count]
                group.addTask { try? await store.burn(issuer: Self.issuer, jti: jti, until: at(12)) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("the first burn burns, the second finds it used", arguments: Engine.underTest)
    func burnOnce(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            #expect(try await store.isBurned(issuer: Self.issuer, jti: "jti-a") == false)
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-a", until: at(12)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-a", until: at(12)) == .alreadyUsed)
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-a", until: at(9999)) == .alreadyUsed)
            #expect(try await store.isBurned(issuer: Self.issuer, jti: "jti-a") == true)
        }
    }

    @Test("the pair is (issuer, jti): another issuer's jti is another token, and jtis are case-sensitive", arguments: Engine.underTest)
    func pairIsTheKey(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-1", until: at(12)) == .burned)
            #expect(try await store.burn(issuer: "http://other.localhost:8080", jti: "jti-1", until: at(12)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "JTI-1", until: at(12)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-1", until: at(12)) == .alreadyUsed)
            #expect(try await store.isBurned(issuer: "http://third.localhost", jti: "jti-1") == false)
        }
    }

    @Test("64 concurrent burns of one jti on one store: exactly one burned", arguments: Engine.underTest)
    func concurrentBurns(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            for round in 0..<3 {
                let outcomes = await Self.burnConcurrently([store], jti: "concurrent-\(round)")
                #expect(outcomes.filter { $0 == .burned }.count == 1)
                #expect(outcomes.filter { $0 == .alreadyUsed }.count == 63)
            }
            #expect(try await store.rowCounts()["used_tokens"] == 3)
        }
    }

    @Test("64 concurrent burns of one jti across four store instances (replicas): exactly one burned", arguments: Engine.underTest)
    func concurrentBurnsAcrossStores(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            var stores = [first]
            for _ in 0..<3 { stores.append(try await database.open()) }
            for round in 0..<3 {
                let outcomes = await Self.burnConcurrently(stores, jti: "shared-\(round)")
                #expect(outcomes.filter { $0 == .burned }.count == 1)
                #expect(outcomes.filter { $0 == .alreadyUsed }.count == 63)
            }
            #expect(try await stores[0].burn(issuer: Self.issuer, jti: "from-a", until: at(12)) == .burned)
            #expect(try await stores[3].burn(issuer: Self.issuer, jti: "from-a", until: at(12)) == .alreadyUsed)
        }
    }

    @Test("a burn is durable: a store opened afresh on the database still knows it", arguments: Engine.underTest)
    func durable(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            #expect(try await store.burn(issuer: Self.issuer, jti: "durable", until: at(12)) == .burned)
            let reopened = try await database.open()
            #expect(try await reopened.burn(issuer: Self.issuer, jti: "durable", until: at(12)) == .alreadyUsed)
        }
    }

    @Test("pruneUsedTokens removes only rows whose until is before the date, to the fraction of a second", arguments: Engine.underTest)
    func pruneUsedTokens(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            #expect(try await store.burn(issuer: Self.issuer, jti: "past", until: at(-10)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "just-past", until: at(0).addingTimeInterval(-0.25)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "now", until: at(0)) == .burned)
            #expect(try await store.burn(issuer: Self.issuer, jti: "just-future", until: at(0).addingTimeInterval(0.25)) == .burned)
            #expect(try await store.pruneUsedTokens(before: at(0)) == 2)
            #expect(try await store.pruneUsedTokens(before: at(0)) == 0)
            #expect(try await store.pruneUsedTokens(before: at(0).addingTimeInterval(0.2)) == 1)
            #expect(try await store.burn(issuer: Self.issuer, jti: "just-future", until: at(10)) == .alreadyUsed)
            // A pruned jti could burn again, which is why rows live until exp + leeway.
            #expect(try await store.burn(issuer: Self.issuer, jti: "past", until: at(-10)) == .burned)
        }
    }

    @Test("burn(creating:) creates the session only when it burns", arguments: Engine.underTest)
    func burnCreating(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            let first = Records.rpSession("session-1")
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-c", until: at(12), creating: first) == .burned)
            #expect(try await store.rpSession(idHash: "session-1") == first)
            let replay = Records.rpSession("session-2")
            #expect(try await store.burn(issuer: Self.issuer, jti: "jti-c", until: at(12), creating: replay) == .alreadyUsed)
            #expect(try await store.rpSession(idHash: "session-2") == nil)
            #expect(try await store.isBurned(issuer: Self.issuer, jti: "jti-c"))
        }
    }

    @Test("64 concurrent burn(creating:) of one jti across four store instances: one burned, one session", arguments: Engine.underTest)
    func concurrentBurnCreating(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            var stores = [first]
            for _ in 0..<3 { stores.append(try await database.open()) }
            let outcomes = await withTaskGroup(of: BurnOutcome?.self) { group in
                for index in 0..<64 {
                    let store = stores[index % stores.count]
                    group.addTask {
                        // Each racer another person, so that nothing but the burn decides between them.
                        try? await store.burn(
                            issuer: Self.issuer, jti: "race", until: at(12), creating: Records.rpSession("racer-\(index)", subject: "user-\(index)"))
                    }
                }
                return await group.reduce(into: [BurnOutcome?]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .burned }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyUsed }.count == 63)
            #expect(try await stores[1].rowCounts()["rp_sessions"] == 1)
        }
    }

    @Test("a session whose insert fails leaves the jti unburned: one transaction", arguments: Engine.underTest)
    func burnCreatingIsOneTransaction(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await store.insertRPSession(Records.rpSession("taken"))
            await #expect(throws: (any Error).self) {
                try await store.burn(issuer: Self.issuer, jti: "jti-t", until: at(12), creating: Records.rpSession("taken"))
            }
            #expect(try await store.isBurned(issuer: Self.issuer, jti: "jti-t") == false)
        }
    }
}

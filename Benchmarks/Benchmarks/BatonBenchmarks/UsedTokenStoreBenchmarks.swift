import BatonCore
import Benchmark
import Foundation

/// Burning jtis on a real SQLite file. Written against ``UsedTokenStore``, so the
/// figures follow whatever the store does (one commit per burn today; a group commit
/// would show up in the concurrent figure).
func usedTokenStoreBenchmarks() -> [Benchmark?] {
    let folder = BenchFixture.temporaryFolder("burn")
    let until = Date().addingTimeInterval(3600)
    let store: @Sendable () async throws -> any UsedTokenStore = { try await BenchFixture(folder: folder).store }

    return [
        Benchmark("Burn: one jti (SQLiteStore, synchronous=FULL)") { _, store in
            let outcome = try await store.burn(issuer: BenchFixture.issuer, jti: Secrets.random(bytes: 18), until: until)
            guard outcome == .burned else { throw BenchFailure("a fresh jti was not burned: \(outcome)") }
        } setup: {
            try await store()
        } teardown: {
            BenchFixture.removeFolder(folder)
        },

        Benchmark("Burn: \(concurrentBurns) jtis at once (UsedTokenStore, one task each)") { _, store in
            try await burnConcurrently(store, count: concurrentBurns, until: until)
        } setup: {
            try await store()
        } teardown: {
            BenchFixture.removeFolder(folder)
        },
    ]
}

/// How many burns race in the concurrent benchmark: as many as wrk's 16 connections
/// could have in flight several times over.
let concurrentBurns = 64

/// Burns `count` fresh jtis from `count` concurrent tasks; every one must burn.
func burnConcurrently(_ store: any UsedTokenStore, count: Int, until: Date) async throws {
    let burned = try await withThrowingTaskGroup(of: BurnOutcome.self) { group in
        for _ in 0..<count {
            group.addTask { try await store.burn(issuer: BenchFixture.issuer, jti: Secrets.random(bytes: 18), until: until) }
        }
        return try await group.reduce(0) { $0 + ($1 == .burned ? 1 : 0) }
    }
    guard burned == count else { throw BenchFailure("\(count - burned) of \(count) fresh jtis were not burned") }
}

import Foundation
import GRDB
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// The used-token store: one atomic insert of (issuer, jti) decides, across tasks,
/// connections and processes, and the decision survives a restart.
@Suite("SQLiteStore: burning jtis")
struct UsedTokenStoreTests {
    static let issuer = "http://login.localhost:8080"

    private func burnConcurrently(_ stores: [SQLiteStore], jti: String, tasks: Int = 64) async -> [BurnOutcome?] {
        await withTaskGroup(of: BurnOutcome?.self) { group in
            for index in 0..<tasks {
                let store = stores[index % stores.count]
                group.addTask { try? await store.burn(issuer: Self.issuer, jti: jti, until: at(12)) }
            }
            var outcomes: [BurnOutcome?] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    @Test("64 concurrent burns of one jti: exactly one burned, 63 already used, integrity ok")
    func concurrentBurns() async throws {
        try await withTemporaryStore { store in
            for round in 0..<3 {
                let outcomes = await burnConcurrently([store], jti: "concurrent-jti-\(round)-aaaaaaaaaaaa")
                #expect(outcomes.count == 64)
                #expect(outcomes.filter { $0 == .burned }.count == 1)
                #expect(outcomes.filter { $0 == .alreadyUsed }.count == 63)
                #expect(outcomes.allSatisfy { $0 != nil })
            }
            #expect(try store.integrityCheck() == "ok")
            let rows = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM used_tokens") }
            #expect(rows == 3)
        }
    }

    @Test("64 concurrent burns split across two stores on one file (two processes): exactly one burned")
    func concurrentBurnsAcrossStores() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("shared.sqlite").path
            let a = try SQLiteStore(path: path)
            let b = try SQLiteStore(path: path)
            for round in 0..<3 {
                let outcomes = await burnConcurrently([a, b], jti: "shared-jti-\(round)-aaaaaaaaaaaaaaaa")
                #expect(outcomes.filter { $0 == .burned }.count == 1)
                #expect(outcomes.filter { $0 == .alreadyUsed }.count == 63)
            }
            // Each store sees the other's burns.
            #expect(try await a.burn(issuer: Self.issuer, jti: "from-b-aaaaaaaaaaaaaaaaaa", until: at(12)) == .burned)
            #expect(try await b.burn(issuer: Self.issuer, jti: "from-b-aaaaaaaaaaaaaaaaaa", until: at(12)) == .alreadyUsed)
            #expect(try a.integrityCheck() == "ok")
            #expect(try b.integrityCheck() == "ok")
        }
    }

    @Test("a burn is durable: a store reopened on the file still knows it")
    func durable() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("durable.sqlite").path
            do {
                let store = try SQLiteStore(path: path)
                #expect(try await store.burn(issuer: Self.issuer, jti: "durable-jti-aaaaaaaaaaaa", until: at(12)) == .burned)
            }
            let reopened = try SQLiteStore(path: path)
            #expect(try await reopened.burn(issuer: Self.issuer, jti: "durable-jti-aaaaaaaaaaaa", until: at(12)) == .alreadyUsed)
            #expect(try reopened.integrityCheck() == "ok")
        }
    }

    @Test("every connection runs with synchronous = FULL, so a burn survives power loss")
    func synchronousFull() async throws {
        try await withTemporaryStore { store in
            let writer = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            let reader = try await store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(writer == 2)
            #expect(reader == 2)
            let mode = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
        }
    }

    @Test("a store error is thrown, never reported as a burn")
    func storeErrorThrows() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("broken.sqlite").path
            let store = try SQLiteStore(path: path)
            let outsider = try DatabaseQueue(path: path)
            try await outsider.write { db in try db.execute(sql: "DROP TABLE used_tokens") }
            try outsider.close()
            await #expect(throws: StoreError.self) {
                try await store.burn(issuer: Self.issuer, jti: "any-jti-aaaaaaaaaaaaaaaaa", until: at(12))
            }
        }
    }

    @Test("concurrent burns of distinct jtis share group commits: every one burned and durable, in fewer transactions")
    func groupCommit() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("rp.sqlite").path
            let store = try SQLiteStore(path: path)
            let before = store.committer.transactions
            let outcomes = await withTaskGroup(of: BurnOutcome?.self) { group in
                for index in 0..<200 {
                    group.addTask { try? await store.burn(issuer: Self.issuer, jti: "distinct-\(index)-aaaaaaaaaaaaaa", until: at(12)) }
                }
                return await group.reduce(into: [BurnOutcome?]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 == .burned })
            let transactions = store.committer.transactions - before
            #expect(transactions < 200, "200 burns took \(transactions) transactions")
            // Committed before each caller was answered: another connection sees every row.
            let outsider = try DatabaseQueue(path: path)
            let rows = try await outsider.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM used_tokens") }
            try outsider.close()
            #expect(rows == 200)
        }
    }

    @Test("one failing write in a group rolls back alone; the others in its transaction commit")
    func failingWriteRollsBackAlone() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            let results = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        // A duplicate username fails its own savepoint only.
                        let username = index == 7 ? "alice" : "user\(index)"
                        return (try? await store.insertUser(Records.user("id-\(index)", username))) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { !$0 }.count == 1)
            #expect(try await store.users().count == 20)
        }
    }

    @Test("checkpoints on their own connection copy the WAL back while burns go on, failing none of them")
    func checkpointBesideTheWriter() async throws {
        try await withTemporaryStore { store in
            let burns = Task {
                await withTaskGroup(of: BurnOutcome?.self) { group in
                    for index in 0..<400 {
                        group.addTask { try? await store.burn(issuer: Self.issuer, jti: "ckpt-\(index)-aaaaaaaaaaaaaaaa", until: at(12)) }
                    }
                    return await group.reduce(into: [BurnOutcome?]()) { $0.append($1) }
                }
            }
            for _ in 0..<10 {
                try? store.checkpoint()  // may find the writer busy: PASSIVE never waits
                try await Task.sleep(for: .milliseconds(10))
            }
            let outcomes = await burns.value
            #expect(outcomes.allSatisfy { $0 == .burned })
            try store.checkpoint()
            // Everything written is now in the database file: nothing left in the WAL to copy.
            let (log, copied) = try await store.pool.writeWithoutTransaction { db -> (Int, Int) in
                let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")!
                return (row[1], row[2])
            }
            #expect(log == copied)
            #expect(try store.integrityCheck() == "ok")
        }
    }
}

import BatonCore
import Foundation
import GRDB
import Testing

@testable import BatonSQLite

/// Opening a store file: several processes (replicas, the CLI) may open one fresh file
/// at the same moment, and it is created and migrated exactly once.
@Suite("Opening a SQLite store")
struct OpeningTests {
    @Test("six stores opening one fresh file at once all open it, migrated once, 10 rounds")
    func concurrentFirstOpens() async throws {
        for round in 0..<10 {
            try await withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("shared.sqlite").path
                let outcomes = await withTaskGroup(of: String?.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            // Each on its own thread, as separate processes would be.
                            await withCheckedContinuation { continuation in
                                Thread.detachNewThread {
                                    do {
                                        _ = try SQLiteStore(path: path)
                                        continuation.resume(returning: nil)
                                    } catch {
                                        continuation.resume(returning: String(describing: error))
                                    }
                                }
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
                }
                #expect(outcomes.isEmpty, "round \(round): \(outcomes)")
                let store = try SQLiteStore(path: path)
                let applied = try await store.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
                #expect(applied.count == Set(applied).count)
                #expect(try store.integrityCheck() == "ok")
            }
        }
    }

    @Test("a new file and its -wal and -shm are the owner's only")
    func newFilesArePrivate() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("private.sqlite").path
            let previous = umask(0o022)
            defer { umask(previous) }
            let store = try SQLiteStore(path: path)
            try await store.insertUser(User(id: "u1", username: "u1", displayName: "U", passwordHash: "x", createdAt: Date()))
            for file in [path, path + "-wal", path + "-shm"] {
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)
                #expect(mode.intValue & 0o077 == 0, "\(file): \(String(mode.intValue, radix: 8))")
            }
        }
    }
}

import BatonCore
import Foundation
import GRDB

/// Every Baton store in one SQLite file (GRDB `DatabasePool`, WAL). Several processes
/// may open the same file: that is how dashboard replicas on one machine share their
/// used-token store.
public final class SQLiteStore: Sendable {
    let pool: DatabasePool
    let committer: GroupCommitter
    public let path: String

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        // The file holds session hashes and password hashes: created 0600 before SQLite
        // opens it, so that its -wal and -shm (which take its mode) are 0600 from the start.
        try PrivateFiles.ensureFile(path)
        var configuration = Configuration()
        // Another process (a replica, the CLI) may hold the write lock for a moment.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // A burned jti must survive a crash or power loss right after the response.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB turns WAL on after prepareDatabase and sets synchronous = NORMAL on the
        // writer as it does: put FULL back on the one connection that burns jtis.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrator.migrate(pool)
        committer = GroupCommitter(pool: pool)
    }

    /// Runs `PRAGMA integrity_check`; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    /// Rows in each of Baton's tables, by name: for tests, the soak's growth report and
    /// operators' curiosity.
    public func rowCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for table in Self.tables {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }

    static let tables = [
        "users", "login_sessions", "session_lookups", "logout_deliveries", "used_tokens", "rp_sessions",
    ]

    /// Runs a read, mapping every database failure to ``StoreError``.
    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw StoreError("sqlite read failed: \(error.resultCode)")
        }
    }

    /// Runs a write in the next group-committed transaction (see ``GroupCommitter``),
    /// mapping every database failure to ``StoreError``.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await committer.write(body)
        } catch let error as DatabaseError {
            throw StoreError("sqlite write failed: \(error.resultCode)")
        }
    }
}

extension Date {
    var sqliteSeconds: Double { timeIntervalSince1970 }
    init(sqliteSeconds: Double) { self.init(timeIntervalSince1970: sqliteSeconds) }
}

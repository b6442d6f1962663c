import BatonCore
import Foundation
import GRDB
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every Baton store in one SQLite file (GRDB `DatabasePool`, WAL). Several processes
/// may open the same file: that is how replicas on one machine share their stores.
public final class SQLiteStore: Sendable {
    /// How long a write waits for another connection's write lock before it fails (and
    /// its request answers 503 `store_unavailable`). A request writes at most twice in a
    /// row (a handoff: the session's last use, then the handoff), so 2 × 2 s stays within
    /// PROTOCOL.md's 5 s; a healthy writer holds the lock for milliseconds.
    public static let busyTimeout: TimeInterval = 2

    let pool: DatabasePool
    let committer: GroupCommitter
    public let path: String
    /// A connection of its own for checkpoints, opened at the first one (see ``checkpoint()``).
    private let checkpointer = Mutex<DatabaseQueue?>(nil)

    /// Opens (creating if needed, mode 0600) the database at `path` and migrates it,
    /// with at most `readers` reading connections beside the one writer.
    public init(path: String, readers: Int = 8) throws {
        try PrivateFiles.makeDirectory((path as NSString).deletingLastPathComponent)
        var configuration = Configuration()
        // Another process (a replica, the CLI) may hold the write lock for a moment.
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.maximumReaderCount = max(readers, 1)
        configuration.prepareDatabase { db in
            // A burned jti must survive a crash or power loss right after the response.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        self.path = path
        // Of several processes opening a fresh file together, one creates and migrates it
        // while the others wait, then find it migrated: GRDB's migrator reads which steps
        // are applied before it takes SQLite's write lock, so two could both run step 1.
        self.pool = try Self.withOpeningLock(path) {
            // The file holds session and password hashes: owner only, from the start, so
            // that -wal and -shm (which take its mode when SQLite opens them) are too. An
            // existing file is left alone: closing a descriptor of a file drops every
            // POSIX lock this process holds on it, SQLite's included.
            if !FileManager.default.fileExists(atPath: path) {
                let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard descriptor >= 0 || errno == EEXIST else { throw StoreError("cannot create \(path)") }
                if descriptor >= 0 { close(descriptor) }
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB turns WAL on after prepareDatabase and sets synchronous = NORMAL on the
            // writer as it does: put FULL back on the one connection that burns jtis.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                // Checkpoints run beside the writer (``checkpoint()``), not inside a commit
                // that a caller waits for; this is the safety net should they fall behind.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.commitCheckpointPages)")
            }
            try Self.migrator.migrate(pool)
            return pool
        }
        committer = GroupCommitter(pool: pool)
    }

    /// WAL pages after which a commit checkpoints by itself: ~32 MB, reached only when
    /// ``checkpoint()`` is not being called.
    static let commitCheckpointPages = 8000

    /// Copies the WAL back into the database on a connection of its own (PASSIVE: it
    /// never waits for, nor blocks, the writer or the readers), so that no commit a
    /// request waits on pays for a checkpoint. Called every half second by the host.
    public func checkpoint() throws {
        try checkpointer.withLock { queue in
            if queue == nil {
                var configuration = Configuration()
                configuration.busyMode = .immediateError
                queue = try DatabaseQueue(path: path, configuration: configuration)
            }
            try queue?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        }
    }

    /// ``checkpoint()`` on a queue of its own: it writes and syncs the database file,
    /// which must not hold up one of the few threads that run Swift's tasks.
    public func checkpointInBackground() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Self.checkpointQueue.async { continuation.resume(with: Result { try self.checkpoint() }) }
        }
    }

    private static let checkpointQueue = DispatchQueue(label: "baton.sqlite.checkpoint")

    /// Runs `body` holding an exclusive lock on `path-open.lock`, waiting at most 30 s for
    /// another process's start-up to finish with it.
    static func withOpeningLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lockPath = path + "-open.lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError("cannot open \(lockPath)") }
        defer { close(descriptor) }
        let deadline = ContinuousClock.now + .seconds(30)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                throw StoreError("cannot lock \(lockPath): another process has held it for 30 s")
            }
            usleep(20_000)
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }

    /// Runs `PRAGMA integrity_check`; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    static let tables = [
        "users", "login_sessions", "session_lookups", "logout_deliveries", "used_tokens", "rp_sessions", "key_ring",
    ]

    /// Runs a lookup by key on the calling thread, mapping every database failure to
    /// ``StoreError``. A point read costs microseconds, while GRDB's asynchronous read
    /// hops to a reader's queue and back: two thread switches that cost more than the
    /// read itself. A reader never waits for the writer (WAL), so this blocks only for
    /// as long as SQLite reads, or for ``busyTimeout`` at most in the rare case another
    /// process holds what a reader needs (WAL recovery after a crash).
    ///
    /// `body` runs one SELECT, with no BEGIN and COMMIT around it: a single statement is
    /// its own read transaction in SQLite and sees one snapshot of the WAL, which is all
    /// the isolation one statement needs. Anything reading twice uses ``scan``.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.unsafeRead(body)
        } catch let error as DatabaseError {
            throw StoreError("sqlite read failed: \(error.resultCode)")
        }
    }

    /// Runs a read that may visit many rows (a scan, a count) on a reader's own queue,
    /// mapping every database failure to ``StoreError``.
    func scan<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
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

extension SQLiteStore: RowCounting {
    /// Rows in each of Baton's tables, by name: for tests, the soak's growth report and
    /// operators' curiosity.
    public func rowCounts() async throws -> [String: Int] {
        try await scan { db in
            var counts: [String: Int] = [:]
            for table in Self.tables {
                counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return counts
        }
    }
}

extension SQLiteStore: StoreProbe {
    /// A read of the schema: the file opens, and a reader gets a snapshot.
    public func probe() async throws {
        _ = try read { db in try String.fetchOne(db, sql: "SELECT name FROM sqlite_master LIMIT 1") }
    }
}

extension Date {
    var sqliteSeconds: Double { timeIntervalSince1970 }
    init(sqliteSeconds: Double) { self.init(timeIntervalSince1970: sqliteSeconds) }
}

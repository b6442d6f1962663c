import Foundation
import GRDB

/// Another connection to a SQLite file holding its write lock (`BEGIN IMMEDIATE`) until
/// released: what a replica, the CLI or an operator's shell stuck mid-transaction does to
/// every other writer. Writers then wait out their busy timeout and fail.
public final class WriteLockHolder: Sendable {
    private let queue: DatabaseQueue

    /// Takes the write lock of the database at `path` at once.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.inDatabase { db in try db.execute(sql: "BEGIN IMMEDIATE") }
    }

    /// Gives the lock back.
    public func release() throws {
        try queue.inDatabase { db in try db.execute(sql: "ROLLBACK") }
        try queue.close()
    }
}

import BatonCore
import Foundation
import GRDB
import Synchronization

/// Every write of a store, batched: writes that arrive while a commit is in flight
/// share the next transaction, each inside its own savepoint, so that one commit — one
/// fsync with `synchronous = FULL` — makes all of them durable. Each caller is answered
/// only after the commit that holds its write; a write that fails rolls back its own
/// savepoint only, and a commit that fails fails every write in it.
///
/// A commit costs ≈ 0.37 ms on these disks whatever it holds, while fifty rows in one
/// commit reach ≈ 74 k rows/s: under concurrency, burns stop being bound by fsyncs.
final class GroupCommitter: Sendable {
    /// The most writes one transaction takes; the rest wait for the next.
    static let maximumBatch = 256

    private let pool: DatabasePool
    private let state = Mutex(State())

    private struct State {
        var pending: [any PendingWrite] = []
        var draining = false
        var transactions = 0
    }

    /// Transactions committed (or tried) so far: fewer than the writes, under concurrency.
    var transactions: Int { state.withLock { $0.transactions } }

    init(pool: DatabasePool) { self.pool = pool }

    /// Runs `body` in the next group transaction; returns once that is committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let write = Write(body: body, continuation: continuation)
            let start = state.withLock { state -> Bool in
                state.pending.append(write)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            // The writer's own queue drains: no task to start and no hop back to it.
            if start { pool.asyncWriteWithoutTransaction { db in self.drain(db) } }
        }
    }

    /// Commits batches on the writer's queue until no write is waiting.
    private func drain(_ db: Database) {
        while true {
            let batch = state.withLock { state -> [any PendingWrite] in
                let batch = Array(state.pending.prefix(Self.maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false } else { state.transactions += 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                try db.inTransaction(.immediate) {
                    for write in batch { write.run(in: db) }
                    return .commit
                }
                for write in batch { write.finish(commitError: nil) }
            } catch {
                for write in batch { write.finish(commitError: error) }
            }
        }
    }
}

private protocol PendingWrite: Sendable {
    func run(in db: Database)
    func finish(commitError: (any Error)?)
}

/// One caller's write: its body, run in a savepoint, and its answer, given after the commit.
private final class Write<T: Sendable>: PendingWrite {
    let body: @Sendable (Database) throws -> T
    let continuation: CheckedContinuation<T, any Error>
    private let outcome = Mutex<Result<T, any Error>?>(nil)

    init(body: @escaping @Sendable (Database) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(in db: Database) {
        var value: Result<T, any Error> = .failure(StoreError("write not run"))
        do {
            try db.inSavepoint {
                value = .success(try body(db))
                return .commit
            }
        } catch {
            value = .failure(error)
        }
        outcome.withLock { $0 = value }
    }

    func finish(commitError: (any Error)?) {
        if let commitError {
            continuation.resume(throwing: commitError)
            return
        }
        continuation.resume(with: outcome.withLock { $0 } ?? .failure(StoreError("write not run")))
    }
}

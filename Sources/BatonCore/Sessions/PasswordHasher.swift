import Dispatch
import HummingbirdBcrypt

/// bcrypt, on a bounded pool off the cooperative thread pool: one hash takes tens to
/// hundreds of milliseconds and would otherwise stall every other request on the host,
/// and an unbounded queue of them lets a flood of failed sign-ins starve the requests
/// that need no password (redemption, minting, health checks).
public struct PasswordHasher: Sendable {
    /// bcrypt reads at most 72 bytes and stops at the first NUL (it takes a C string):
    /// a longer password would sign in with any suffix, so none is accepted.
    public static let maximumPasswordBytes = 72

    public let cost: UInt8
    let pool: HashingPool

    /// A hash of a random password at the configured cost: checked when the username
    /// does not exist, so a wrong username takes as long as a wrong password (and
    /// ``needsRehash(_:)`` brings real hashes to the same cost).
    private let decoyHash: String

    /// The pool was full: answer 503 with `Retry-After` rather than queue without bound.
    public struct Busy: Error, Sendable {}

    /// A hasher with bcrypt `cost` (4...31; 11 by default), running at most
    /// `concurrency` hashes at once with at most `queueLimit` more waiting.
    public init(cost: UInt8 = 11, concurrency: Int = HashingPool.defaultConcurrency, queueLimit: Int = 32) {
        self.cost = min(max(cost, 4), 31)
        self.decoyHash = Bcrypt.hash(Secrets.random(bytes: 16), cost: self.cost)
        self.pool = HashingPool(concurrency: concurrency, queueLimit: queueLimit)
    }

    /// True when bcrypt can take `password` whole: at most 72 bytes, no NUL.
    public static func isAcceptable(_ password: String) -> Bool {
        !password.isEmpty && password.utf8.count <= maximumPasswordBytes && !password.utf8.contains(0)
    }

    /// Spends the time of one verification and answers false.
    public func verifyDecoy(_ password: String) async throws(Busy) -> Bool {
        _ = try await verify(password, hash: decoyHash, checkAcceptable: false)
        return false
    }

    /// A bcrypt hash of `password`, which must be ``isAcceptable(_:)``.
    public func hash(_ password: String) async -> String {
        let cost = self.cost
        // Hashing happens in the CLI and at sign-in upgrades: wait for a slot, never refuse.
        return await pool.run(waitingAlways: true) { Bcrypt.hash(password, cost: cost) } ?? Bcrypt.hash(password, cost: cost)
    }

    /// True when `password` matches `hash`. A password bcrypt would truncate never matches.
    public func verify(_ password: String, hash: String) async throws(Busy) -> Bool {
        try await verify(password, hash: hash, checkAcceptable: true)
    }

    private func verify(_ password: String, hash: String, checkAcceptable: Bool) async throws(Busy) -> Bool {
        // The same bcrypt either way, so a refused password costs what a wrong one does.
        let acceptable = !checkAcceptable || Self.isAcceptable(password)
        let candidate = acceptable ? password : "refused"
        guard let matched = await pool.run(waitingAlways: false, { Bcrypt.verify(candidate, hash: hash) }) else { throw Busy() }
        return matched && acceptable
    }

    /// True when `hash` was made at another cost than the configured one: rehash it at the
    /// next successful sign-in, so that real hashes cost what the decoy does.
    public func needsRehash(_ hash: String) -> Bool {
        // `$2b$11$…`: the cost is the two digits after the second `$`.
        let parts = hash.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count >= 2, let stored = UInt8(parts[1]) else { return true }
        return stored != cost
    }
}

/// At most `concurrency` bcrypt computations at once on their own threads, with at most
/// `queueLimit` callers waiting for one; beyond that, callers are turned away.
public actor HashingPool {
    /// Half the cores (at least one): the rest keep serving requests that need no password.
    public static var defaultConcurrency: Int { max(1, ProcessInfo.processInfo.activeProcessorCount / 2) }

    public let concurrency: Int
    public let queueLimit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private let queue: DispatchQueue

    public init(concurrency: Int, queueLimit: Int) {
        self.concurrency = max(1, concurrency)
        self.queueLimit = max(0, queueLimit)
        self.queue = DispatchQueue(label: "baton.bcrypt", qos: .userInitiated, attributes: .concurrent)
    }

    /// Runs `work` on the pool; nil when the queue is full (unless `waitingAlways`).
    func run<T: Sendable>(waitingAlways: Bool, _ work: @escaping @Sendable () -> T) async -> T? {
        if running < concurrency {
            running += 1
        } else {
            guard waitingAlways || waiting.count < queueLimit else { return nil }
            // The slot is handed over by the caller that finishes: `running` stays counted.
            await withCheckedContinuation { waiting.append($0) }
        }
        let queue = self.queue
        let result = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
        return result
    }

    /// Callers waiting for a slot now.
    public var queued: Int { waiting.count }
}

import Foundation

import Dispatch
import HummingbirdBcrypt

/// bcrypt, run off the cooperative thread pool: one hash takes tens to hundreds of
/// milliseconds and would otherwise stall every other request on the host.
public struct PasswordHasher: Sendable {
    public let cost: UInt8

    /// A hash of a random password at the same cost: checked when the username does
    /// not exist, so a wrong username takes as long as a wrong password.
    private let decoyHash: String

    /// A hasher with bcrypt `cost` (4...31; 11 by default).
    public init(cost: UInt8 = 11) {
        self.cost = min(max(cost, 4), 31)
        self.decoyHash = Bcrypt.hash(Secrets.random(bytes: 16), cost: self.cost)
    }

    /// Spends the time of one verification and answers false.
    public func verifyDecoy(_ password: String) async -> Bool {
        _ = await verify(password, hash: decoyHash)
        return false
    }

    /// A bcrypt hash of `password`.
    public func hash(_ password: String) async -> String {
        let cost = self.cost
        return await offload { Bcrypt.hash(password, cost: cost) }
    }

    /// True when `password` matches `hash`.
    public func verify(_ password: String, hash: String) async -> Bool {
        await offload { Bcrypt.verify(password, hash: hash) }
    }

    private func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: work())
            }
        }
    }
}

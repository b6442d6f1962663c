import Foundation
import Synchronization

/// The key ring kept in a ``KeyRingStore`` (`signing_keys: "database"`): the same life
/// of a key as with a file, written atomically against every other replica.
extension SigningKeyRing {
    /// The ring in `store`, created there with one new `algorithm` key on first start:
    /// of any number of hosts starting together, one creates it and the others read it.
    /// Keys that have expired are pruned.
    public static func loadOrCreate(
        in store: any KeyRingStore, algorithm: SigningAlgorithm = .eddsa, clock: any BatonClock
    ) async throws -> SigningKeyRing {
        // Most starts find the ring as it should be, and write nothing.
        if var ring = try await store.keyRing(), ring.prune(at: clock.now()).isEmpty { return ring }
        return try await store.updateKeyRing { current in
            let now = clock.now()
            guard var ring = current else { return SigningKeyRing(keys: [SigningKey(algorithm: algorithm, createdAt: now)]) }
            ring.prune(at: now)
            return ring
        }.asStored()
    }

    /// Rotates the ring in `store` (creating it if there is none): a new `algorithm` key,
    /// published at once, signing after `activationDelay`; expired keys are pruned. The
    /// store serializes concurrent writers, so no rotation is lost. Returns the ring as it
    /// was, as it is, and the key added.
    public static func rotate(
        in store: any KeyRingStore, algorithm: SigningAlgorithm, activationDelay: TimeInterval, clock: any BatonClock
    ) async throws -> (before: SigningKeyRing?, ring: SigningKeyRing, added: Entry) {
        let note = RotationNote()
        let ring = try await store.updateKeyRing { current in
            let now = clock.now()
            guard var ring = current else {
                // Nothing signs yet, so nothing needs to see the key first.
                let ring = SigningKeyRing(keys: [SigningKey(algorithm: algorithm, createdAt: now)])
                note.record(before: nil, added: ring.entries[0])
                return ring
            }
            let before = ring
            ring.prune(at: now)
            note.record(before: before, added: ring.rotate(algorithm: algorithm, at: now, activationDelay: activationDelay))
            return ring
        }
        guard let (before, added) = note.value else { throw StoreError("the key ring was not rotated") }
        return (before, try ring.asStored(), added)
    }

    /// The ring as every reader of the store gets it: the encoding keeps whole seconds,
    /// so the writer holds what the others read, not a finer copy that would look changed.
    func asStored() throws -> SigningKeyRing {
        try SigningKeyRing(encoded: try encoded(), source: "the key ring")
    }
}

/// What a rotation's change saw and added: the store may run the change more than once
/// (a retried transaction), and the last run is the one written.
private final class RotationNote: Sendable {
    private let recorded = Mutex<(before: SigningKeyRing?, added: SigningKeyRing.Entry)?>(nil)

    func record(before: SigningKeyRing?, added: SigningKeyRing.Entry) { recorded.withLock { $0 = (before, added) } }
    var value: (before: SigningKeyRing?, added: SigningKeyRing.Entry)? { recorded.withLock { $0 } }
}

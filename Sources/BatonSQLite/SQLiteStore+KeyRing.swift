import BatonCore
import Foundation
import GRDB

/// The login host's key ring when `signing_keys` is `database`: one row, the JSON of
/// ``SigningKeyRing/encoded()`` (private keys included: the file is the owner's only).
extension SQLiteStore: KeyRingStore {
    public func keyRing() async throws -> SigningKeyRing? {
        let data = try read { db in try Data.fetchOne(db, sql: "SELECT ring FROM key_ring WHERE id = 1") }
        return try data.map { try SigningKeyRing(encoded: $0, source: "the database's key_ring") }
    }

    /// Read and written in one IMMEDIATE transaction (the group committer's): the write
    /// lock is taken before the read, so every other writer — another replica starting,
    /// a rotation — waits, and no change is lost.
    public func updateKeyRing(_ change: @escaping @Sendable (SigningKeyRing?) throws -> SigningKeyRing) async throws -> SigningKeyRing {
        try await write { db in
            let current = try Data.fetchOne(db, sql: "SELECT ring FROM key_ring WHERE id = 1")
                .map { try SigningKeyRing(encoded: $0, source: "the database's key_ring") }
            let ring = try change(current)
            try db.execute(
                sql: "INSERT INTO key_ring (id, ring) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET ring = excluded.ring",
                arguments: [try ring.encoded()])
            return ring
        }
    }
}

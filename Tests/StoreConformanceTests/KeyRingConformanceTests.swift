import BatonCore
import Foundation
import Testing

/// The key ring in the store (`signing_keys: "database"`): created once however many
/// replicas start together, rotations never lost, seen by every instance.
@Suite("Conformance: the key ring in the store")
struct KeyRingConformanceTests {
    /// The engine's KeyRingStore, or a skip note where the engine has none yet.
    static func keyRings(_ store: any ConformanceStore) throws -> any KeyRingStore {
        guard let keyRings = store as? any KeyRingStore else {
            try Test.cancel("\(type(of: store)) is not a KeyRingStore in this branch")
        }
        return keyRings
    }

    @Test("8 replicas starting together on two store instances create one first key", arguments: Engine.underTest)
    func firstCreationOnce(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let a = try Self.keyRings(first)
            let b = try Self.keyRings(try await database.open())
            #expect(try await a.keyRing() == nil)
            let kids = try await withThrowingTaskGroup(of: [String].self) { group in
                for index in 0..<8 {
                    let store = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        try await store.updateKeyRing { $0 ?? SigningKeyRing(keys: [SigningKey(createdAt: at(index))]) }.keys.map(\.kid)
                    }
                }
                return try await group.reduce(into: Set<[String]>()) { $0.insert($1) }
            }
            #expect(kids.count == 1 && kids.first?.count == 1)
            #expect(try await b.keyRing()?.keys.map(\.kid) == kids.first)
        }
    }

    @Test("a rotation written by one instance is read by another; concurrent rotations are all kept", arguments: Engine.underTest)
    func rotations(_ engine: Engine) async throws {
        try await withStore(engine) { first, database async throws in
            let a = try Self.keyRings(first)
            let b = try Self.keyRings(try await database.open())
            let created = try await a.updateKeyRing { _ in SigningKeyRing(keys: [SigningKey(createdAt: at(0))]) }
            var rotated = created
            let added = rotated.rotate(algorithm: .es256, at: at(10), activationDelay: 30)
            let written = rotated
            _ = try await a.updateKeyRing { _ in written }
            let seen = try #require(try await b.keyRing())
            #expect(seen.keys.map(\.kid) == [created.keys[0].kid, added.key.kid])
            #expect(seen.entries[1].activatesAt == added.activatesAt)
            #expect(seen.active(at: at(39)).kid == created.keys[0].kid && seen.active(at: at(40)).kid == added.key.kid)
            #expect(seen.keys[1].algorithm == .es256)

            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<10 {
                    let store = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        _ = try await store.updateKeyRing { ring in
                            var ring = ring!
                            _ = ring.rotate(algorithm: .eddsa, at: at(100 + index), activationDelay: 30)
                            return ring
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await a.keyRing()?.keys.count == 12)
        }
    }

    @Test("an error thrown by the change leaves the ring as it was and reaches the caller unchanged", arguments: Engine.underTest)
    func failingChange(_ engine: Engine) async throws {
        struct Refused: Error {}
        try await withStore(engine) { store, _ async throws in
            let keyRings = try Self.keyRings(store)
            let ring = try await keyRings.updateKeyRing { _ in SigningKeyRing(keys: [SigningKey(createdAt: at(0))]) }
            await #expect(throws: Refused.self) { _ = try await keyRings.updateKeyRing { _ in throw Refused() } }
            #expect(try await keyRings.keyRing()?.keys.map(\.kid) == ring.keys.map(\.kid))
        }
    }
}

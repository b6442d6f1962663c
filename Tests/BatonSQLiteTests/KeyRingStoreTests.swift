import BatonCore
import Foundation
import Synchronization
import Testing

@testable import BatonSQLite

/// `signing_keys: "database"` on SQLite: one ring in the `key_ring` table, shared by
/// every replica (here, separate stores on one file, as separate processes would be).
@Suite("SQLite key ring")
struct KeyRingStoreTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))

    @Test("replicas starting together on one fresh file create the ring once and all get it")
    func firstStartCreatesOneRing() async throws {
        for _ in 0..<5 {
            try await withTemporaryDirectory { directory in
                let path = directory.appendingPathComponent("shared.sqlite").path
                let stores = try (0..<3).map { _ in try SQLiteStore(path: path) }
                let clock = self.clock
                let kids = try await withThrowingTaskGroup(of: [String].self) { group in
                    for index in 0..<12 {
                        group.addTask { try await SigningKeyRing.loadOrCreate(in: stores[index % 3], clock: clock).keys.map(\.kid) }
                    }
                    return try await group.reduce(into: [[String]]()) { $0.append($1) }
                }
                #expect(Set(kids).count == 1, "\(Set(kids))")
                #expect(kids.first?.count == 1)
                #expect(try await stores[0].keyRing()?.keys.map(\.kid) == kids.first)
            }
        }
    }

    @Test("two sources on two stores of one file see one rotation written by a third")
    func oneRotationSeenByBoth() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("shared.sqlite").path
            let (a, b, cli) = (try SQLiteStore(path: path), try SQLiteStore(path: path), try SQLiteStore(path: path))
            let ring = try await SigningKeyRing.loadOrCreate(in: a, clock: clock)
            let sources = [
                SigningKeySource(ring: ring, store: a, clock: clock),
                SigningKeySource(ring: try await SigningKeyRing.loadOrCreate(in: b, clock: clock), store: b, clock: clock),
            ]
            let (_, _, added) = try await SigningKeyRing.rotate(in: cli, algorithm: .eddsa, activationDelay: 60, clock: clock)
            // Past the oldest ring a source uses without rereading it: the next use rereads first.
            clock.advance(by: 6)
            for source in sources {
                #expect(await source.jwks().keys.map(\.kid) == [ring.keys[0].kid, added.key.kid])
                #expect(await source.activeKey().kid == ring.keys[0].kid)
            }
        }
    }

    @Test("concurrent rotations from several stores are all kept: none lost")
    func concurrentRotations() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("shared.sqlite").path
            let stores = try (0..<2).map { _ in try SQLiteStore(path: path) }
            _ = try await SigningKeyRing.loadOrCreate(in: stores[0], clock: clock)
            let clock = self.clock
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<10 {
                    group.addTask { _ = try await SigningKeyRing.rotate(in: stores[index % 2], algorithm: .eddsa, activationDelay: 60, clock: clock) }
                }
                try await group.waitForAll()
            }
            #expect(try await stores[1].keyRing()?.keys.count == 11)
        }
    }

    @Test("the ring round-trips with its activations, and the probe answers")
    func roundTripAndProbe() async throws {
        try await withTemporaryStore { store in
            #expect(try await store.keyRing() == nil)
            try await store.probe()
            _ = try await SigningKeyRing.loadOrCreate(in: store, algorithm: .es256, clock: clock)
            let (_, ring, added) = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 90, clock: clock)
            let read = try #require(try await store.keyRing())
            #expect(read.keys.map(\.kid) == ring.keys.map(\.kid))
            #expect(read.keys.map(\.algorithm) == [.es256, .eddsa])
            #expect(read.state(ofKeyAt: 1, at: clock.now()) == .pending(activatesAt: added.activatesAt))
            #expect(try await store.rowCounts()["key_ring"] == 1)
        }
    }

    @Test("the replica that created the ring holds what the store holds: its rereads report no change until there is one")
    func creatorSeesNoFalseReload() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000.375))
        try await withTemporaryStore { store in
            let events = Mutex<[String]>([])
            let ring = try await SigningKeyRing.loadOrCreate(in: store, clock: clock)
            let source = SigningKeySource(ring: ring, store: store, clock: clock) { event in
                events.withLock { if case .reloaded = event { $0.append("reloaded") } }
            }
            for _ in 0..<3 {
                clock.advance(by: 6)
                _ = await source.activeKey()
            }
            #expect(events.withLock { $0 }.isEmpty)
            _ = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 60, clock: clock)
            clock.advance(by: 6)
            _ = await source.activeKey()
            #expect(events.withLock { $0 } == ["reloaded"])
        }
    }
}

import Foundation
import Synchronization
import Testing

@testable import BatonCore

/// A running login host picks up a rotation written by another process (`baton keys
/// rotate`): the file is checked at most once a second and reloaded when it changed.
@Suite("SigningKeySource: reloading the key file")
struct SigningKeySourceTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))

    @Test("a rotation by a second writer is published within a second and signs from its activation")
    func picksUpAnotherWriter() async throws {
        let path = try SigningKeyRingTests.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let initial = try SigningKeyRing.loadOrCreate(at: path, clock: clock)
        let source = SigningKeySource(ring: initial, file: path, clock: clock)
        let old = initial.keys[0].kid
        #expect(await source.jwks().keys.map(\.kid) == [old])

        // The other process: its own load, rotate and atomic save of the same file.
        let (_, added) = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 30, clock: clock)
        // Checked less than a second ago: not yet seen.
        clock.advance(by: 0.5)
        #expect(await source.jwks().keys.map(\.kid) == [old])
        clock.advance(by: 0.5)
        #expect(await source.jwks().keys.map(\.kid) == [old, added.key.kid])
        // Published, not signing yet.
        #expect(await source.activeKey().kid == old)
        clock.advance(by: 28)  // 1 s before activation (rotated at t0, delay 30)
        #expect(await source.activeKey().kid == old)
        clock.advance(by: 1)
        #expect(await source.activeKey().kid == added.key.kid)

        // The minter follows: tokens carry the new kid from activation on.
        let minter = HandoffMinter(issuer: VerifierFixture.issuer, keys: source, clock: clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        #expect(try CompactJWS(parsing: minted.token).kid == added.key.kid)
    }

    @Test("an unchanged file is not reread, and a file that becomes unreadable keeps the keys in use")
    func brokenFileKeepsKeys() async throws {
        let path = try SigningKeyRingTests.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let initial = try SigningKeyRing.loadOrCreate(at: path, clock: clock)
        let events = Mutex<[String]>([])
        let source = SigningKeySource(ring: initial, file: path, clock: clock) { event in
            events.withLock {
                switch event {
                case .reloaded: $0.append("reloaded")
                case .reloadFailed: $0.append("failed")
                }
            }
        }
        for _ in 0..<5 {
            #expect(await source.activeKey().kid == initial.keys[0].kid)
            clock.advance(by: 1)
        }
        // The first read of the file the host started with is no news.
        #expect(events.withLock { $0 }.isEmpty)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        for _ in 0..<3 {
            clock.advance(by: 1)
            #expect(await source.activeKey().kid == initial.keys[0].kid)
        }
        // Reported once for that version of the file, not every second.
        #expect(events.withLock { $0 } == ["failed"])
        // Repaired by a rotation: reloaded, and reported.
        _ = try? FileManager.default.removeItem(atPath: path)
        try initial.save(to: path)
        let (_, added) = try SigningKeyRing.rotate(at: path, algorithm: .es256, activationDelay: 0, clock: clock)
        clock.advance(by: 1)
        #expect(await source.activeKey().kid == added.key.kid)
        #expect(events.withLock { $0 } == ["failed", "reloaded"])
    }

    @Test("without a file the ring is fixed")
    func fixedRing() async {
        let key = SigningKey(createdAt: clock.now())
        let source = SigningKeySource(ring: SigningKeyRing(keys: [key]), clock: clock)
        clock.advance(by: 3600)
        #expect(await source.activeKey().kid == key.kid)
        #expect(await source.jwks().keys.map(\.kid) == [key.kid])
    }
}

/// A key ring kept in memory, shared like a database: what a second replica or `baton keys
/// rotate` writes, every source reading it sees. `gate` holds reads back until opened.
actor MemoryKeyRingStore: KeyRingStore {
    private var ring: SigningKeyRing?
    private(set) var reads = 0
    var failing = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var holding = false

    init(_ ring: SigningKeyRing? = nil) { self.ring = ring }

    func keyRing() async throws -> SigningKeyRing? {
        reads += 1
        if holding { await withCheckedContinuation { held.append($0) } }
        if failing { throw StoreError("the store does not answer") }
        return ring
    }

    func updateKeyRing(_ change: @escaping @Sendable (SigningKeyRing?) throws -> SigningKeyRing) async throws -> SigningKeyRing {
        let new = try change(ring)
        ring = new
        return new
    }

    func setFailing(_ value: Bool) { failing = value }
    func hold() { holding = true }
    func release() {
        holding = false
        for continuation in held { continuation.resume() }
        held = []
    }
}

/// `signing_keys: "database"`: the ring lives in the store, reread in the background at
/// most once a second so that minting never waits, and before use only when older than 5 s.
@Suite("SigningKeySource: the key ring in the store")
struct StoreKeySourceTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))

    @Test("a rotation written to the store is published within a second, reported, and signs from its activation")
    func rotationInTheStore() async throws {
        let store = MemoryKeyRingStore()
        let initial = try await SigningKeyRing.loadOrCreate(in: store, clock: clock)
        let events = Mutex<[String]>([])
        let source = SigningKeySource(ring: initial, store: store, clock: clock) { event in
            events.withLock {
                if case .reloaded(let kids) = event { $0.append(kids.joined(separator: ",")) }
            }
        }
        let old = initial.keys[0].kid
        let (_, _, added) = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 30, clock: clock)
        // Checked less than a second ago: no read yet.
        clock.advance(by: 0.5)
        #expect(await source.jwks().keys.map(\.kid) == [old])
        #expect(source.refreshInFlight() == nil)
        clock.advance(by: 0.5)
        // Due: this use answers at once with the ring in hand, and starts the read.
        #expect(await source.jwks().keys.map(\.kid) == [old])
        _ = await source.refreshInFlight()?.value
        #expect(await source.jwks().keys.map(\.kid) == [old, added.key.kid])
        #expect(events.withLock { $0 } == ["\(old),\(added.key.kid)"])
        // Published, not signing yet.
        #expect(await source.activeKey().kid == old)
        clock.advance(by: 29)
        #expect(await source.activeKey().kid == added.key.kid)
        let minter = HandoffMinter(issuer: VerifierFixture.issuer, keys: source, clock: clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        #expect(try CompactJWS(parsing: minted.token).kid == added.key.kid)
    }

    @Test("minting never waits for a slow store while the ring is fresh, and the store is read at most once a second")
    func slowStoreDoesNotBlock() async throws {
        let store = MemoryKeyRingStore()
        let initial = try await SigningKeyRing.loadOrCreate(in: store, clock: clock)
        let source = SigningKeySource(ring: initial, store: store, clock: clock)
        let baseline = await store.reads
        await store.hold()
        clock.advance(by: 1)
        // This use starts a read, which the store holds; it and every use meanwhile answer
        // with the ring in hand.
        #expect(await source.activeKey().kid == initial.keys[0].kid)
        for _ in 0..<10_000 where await store.reads == baseline { await Task.yield() }
        for _ in 0..<100 { #expect(await source.activeKey().kid == initial.keys[0].kid) }
        clock.advance(by: 2)
        for _ in 0..<100 { #expect(await source.activeKey().kid == initial.keys[0].kid) }
        #expect(await store.reads == baseline + 1)
        await store.release()
        _ = await source.refreshInFlight()?.value
        // The next read is due a second after the last one started; then none for a second.
        for _ in 0..<10 { _ = await source.activeKey() }
        _ = await source.refreshInFlight()?.value
        clock.advance(by: 0.9)
        for _ in 0..<10 { _ = await source.activeKey() }
        #expect(await store.reads == baseline + 2)
    }

    @Test("a ring older than 5 s (an idle host) is reread before it is used, so the first token after idling is current")
    func staleRingIsRereadFirst() async throws {
        let store = MemoryKeyRingStore()
        let initial = try await SigningKeyRing.loadOrCreate(in: store, clock: clock)
        let source = SigningKeySource(ring: initial, store: store, clock: clock)
        // Another replica rotated, the key activated and the old one expired while this one idled.
        let (_, _, added) = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 30, clock: clock)
        clock.advance(by: 600)
        #expect(await source.activeKey().kid == added.key.kid)
    }

    @Test("a store that fails keeps the keys in use, is reported once, and the ring is reread when it is back")
    func failingStoreKeepsKeys() async throws {
        let store = MemoryKeyRingStore()
        let initial = try await SigningKeyRing.loadOrCreate(in: store, clock: clock)
        let events = Mutex<[String]>([])
        let source = SigningKeySource(ring: initial, store: store, clock: clock) { event in
            events.withLock {
                switch event {
                case .reloaded: $0.append("reloaded")
                case .reloadFailed: $0.append("failed")
                }
            }
        }
        await store.setFailing(true)
        for _ in 0..<8 {
            clock.advance(by: 1)
            #expect(await source.activeKey().kid == initial.keys[0].kid)
            _ = await source.refreshInFlight()?.value
        }
        #expect(events.withLock { $0 } == ["failed"])
        await store.setFailing(false)
        let (_, _, added) = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 0, clock: clock)
        clock.advance(by: 1)
        #expect(await source.activeKey().kid == added.key.kid)
        #expect(events.withLock { $0 } == ["failed", "reloaded"])
    }

    @Test("loadOrCreate creates one ring and prunes expired keys; rotate keeps every rotation")
    func loadOrCreateAndRotate() async throws {
        let store = MemoryKeyRingStore()
        let first = try await SigningKeyRing.loadOrCreate(in: store, algorithm: .es256, clock: clock)
        #expect(first.keys.map(\.algorithm) == [.es256])
        #expect(try await SigningKeyRing.loadOrCreate(in: store, clock: clock).keys.map(\.kid) == first.keys.map(\.kid))
        for _ in 0..<3 { _ = try await SigningKeyRing.rotate(in: store, algorithm: .eddsa, activationDelay: 60, clock: clock) }
        #expect(try await store.keyRing()?.keys.count == 4)
        clock.advance(by: 3 * 60 + 3 + SigningKeyRing.retention)
        #expect(try await SigningKeyRing.loadOrCreate(in: store, clock: clock).keys.count == 1)
    }
}

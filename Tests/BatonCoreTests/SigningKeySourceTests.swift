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
        #expect(source.jwks().keys.map(\.kid) == [old])

        // The other process: its own load, rotate and atomic save of the same file.
        let (_, added) = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 30, clock: clock)
        // Checked less than a second ago: not yet seen.
        clock.advance(by: 0.5)
        #expect(source.jwks().keys.map(\.kid) == [old])
        clock.advance(by: 0.5)
        #expect(source.jwks().keys.map(\.kid) == [old, added.key.kid])
        // Published, not signing yet.
        #expect(source.activeKey().kid == old)
        clock.advance(by: 28)  // 1 s before activation (rotated at t0, delay 30)
        #expect(source.activeKey().kid == old)
        clock.advance(by: 1)
        #expect(source.activeKey().kid == added.key.kid)

        // The minter follows: tokens carry the new kid from activation on.
        let minter = HandoffMinter(issuer: VerifierFixture.issuer, keys: source, clock: clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        #expect(try CompactJWS(parsing: minted.token).kid == added.key.kid)
    }

    @Test("an unchanged file is not reread, and a file that becomes unreadable keeps the keys in use")
    func brokenFileKeepsKeys() throws {
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
            #expect(source.activeKey().kid == initial.keys[0].kid)
            clock.advance(by: 1)
        }
        // The first read of the file the host started with is no news.
        #expect(events.withLock { $0 }.isEmpty)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        for _ in 0..<3 {
            clock.advance(by: 1)
            #expect(source.activeKey().kid == initial.keys[0].kid)
        }
        // Reported once for that version of the file, not every second.
        #expect(events.withLock { $0 } == ["failed"])
        // Repaired by a rotation: reloaded, and reported.
        _ = try? FileManager.default.removeItem(atPath: path)
        try initial.save(to: path)
        let (_, added) = try SigningKeyRing.rotate(at: path, algorithm: .es256, activationDelay: 0, clock: clock)
        clock.advance(by: 1)
        #expect(source.activeKey().kid == added.key.kid)
        #expect(events.withLock { $0 } == ["failed", "reloaded"])
    }

    @Test("without a file the ring is fixed")
    func fixedRing() {
        let key = SigningKey(createdAt: clock.now())
        let source = SigningKeySource(ring: SigningKeyRing(keys: [key]), clock: clock)
        clock.advance(by: 3600)
        #expect(source.activeKey().kid == key.kid)
        #expect(source.jwks().keys.map(\.kid) == [key.kid])
    }
}

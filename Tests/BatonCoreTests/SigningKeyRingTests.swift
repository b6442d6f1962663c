import Foundation
import Testing

@testable import BatonCore

/// Rotation: a new key is published at once and signs only after the activation
/// delay; the old one stays published until every token it signed has expired, then
/// leaves the JWKS and the key file.
@Suite("SigningKeyRing: rotation and the key file")
struct SigningKeyRingTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))

    static func temporaryFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/keys.json"
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
    }

    @Test("a rotated key is published at once, signs after the delay; the old key retires, then expires and leaves the JWKS")
    func lifecycle() throws {
        let first = SigningKey(createdAt: clock.now())
        var ring = SigningKeyRing(keys: [first])
        let added = ring.rotate(algorithm: .eddsa, at: clock.now(), activationDelay: 60)
        let second = added.key
        #expect(added.activatesAt == clock.now().addingTimeInterval(60))
        // Published before it signs: the old key still signs.
        #expect(ring.active(at: clock.now()).kid == first.kid)
        #expect(ring.jwks(at: clock.now()).keys.map(\.kid) == [first.kid, second.kid])
        #expect(ring.state(ofKeyAt: 1, at: clock.now()) == .pending(activatesAt: added.activatesAt))
        #expect(ring.state(ofKeyAt: 0, at: clock.now()) == .active)
        // One second before activation, still the old one.
        #expect(ring.active(at: added.activatesAt.addingTimeInterval(-1)).kid == first.kid)
        // From activation, the new one signs and the old one retires for 180 s.
        let retiredUntil = added.activatesAt.addingTimeInterval(SigningKeyRing.retention)
        #expect(ring.active(at: added.activatesAt).kid == second.kid)
        #expect(ring.state(ofKeyAt: 0, at: added.activatesAt) == .retiring(until: retiredUntil))
        #expect(ring.jwks(at: retiredUntil.addingTimeInterval(-1)).keys.map(\.kid) == [first.kid, second.kid])
        // Then it is expired: out of the JWKS, and pruned.
        #expect(ring.state(ofKeyAt: 0, at: retiredUntil) == .expired)
        #expect(ring.jwks(at: retiredUntil).keys.map(\.kid) == [second.kid])
        #expect(ring.prune(at: retiredUntil).map(\.kid) == [first.kid])
        #expect(ring.keys.map(\.kid) == [second.kid])
        #expect(ring.state(ofKeyAt: 0, at: retiredUntil) == .active)
    }

    @Test("retention covers the longest token any key signs plus the leeway")
    func retentionCoversEveryToken() {
        #expect(SigningKeyRing.retention >= TimeInterval(LogoutClaims.lifetimeCap + HandoffVerifier.maximumLeeway + 30))
        #expect(SigningKeyRing.retention >= TimeInterval(HandoffClaims.lifetimeCap + HandoffVerifier.maximumLeeway + 30))
    }

    @Test("two quick rotations activate in order, each key signing until the next one activates")
    func twoRotations() {
        var ring = SigningKeyRing(keys: [SigningKey(createdAt: clock.now())])
        let a = ring.rotate(algorithm: .eddsa, at: clock.now(), activationDelay: 60)
        let b = ring.rotate(algorithm: .eddsa, at: clock.now(), activationDelay: 60)
        #expect(b.activatesAt > a.activatesAt)
        #expect(ring.active(at: a.activatesAt).kid == a.key.kid)
        #expect(ring.active(at: b.activatesAt).kid == b.key.kid)
        #expect(ring.state(ofKeyAt: 1, at: b.activatesAt) == .retiring(until: b.activatesAt.addingTimeInterval(SigningKeyRing.retention)))
        #expect(ring.jwks(at: clock.now()).keys.count == 3)
    }

    @Test("the key file round-trips both algorithms and the activation time, stays 0600, and rotation prunes expired keys")
    func fileRoundTrip() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let ring = try SigningKeyRing.loadOrCreate(at: path, algorithm: .es256, clock: clock)
        #expect(ring.keys.map(\.algorithm) == [.es256])
        #expect(try Self.mode(path) & 0o777 == 0o600)
        let (rotated, added) = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 45, clock: clock)
        #expect(try Self.mode(path) & 0o777 == 0o600)
        let loaded = try SigningKeyRing.load(from: path)
        #expect(loaded.keys.map(\.kid) == rotated.keys.map(\.kid))
        #expect(loaded.keys.map(\.algorithm) == [.es256, .eddsa])
        #expect(loaded.entries[1].activatesAt == added.activatesAt)
        #expect(loaded.keys.map(\.publicJWK) == rotated.keys.map(\.publicJWK))
        // After activation + retention, the next rotation prunes the first key from the file.
        clock.advance(by: 45 + SigningKeyRing.retention)
        let (pruned, _) = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 45, clock: clock)
        #expect(!pruned.keys.map(\.kid).contains(ring.keys[0].kid))
        #expect(try SigningKeyRing.load(from: path).keys.count == 2)
        // No temporary file is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(leftovers.sorted() == ["keys.json", "keys.json.lock"])
    }

    @Test("start-up prunes keys that expired while the host was down")
    func startUpPrunes() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        _ = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 0, clock: clock)
        _ = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 10, clock: clock)
        #expect(try SigningKeyRing.load(from: path).keys.count == 2)
        clock.advance(by: 10 + SigningKeyRing.retention + 1)
        #expect(try SigningKeyRing.loadOrCreate(at: path, clock: clock).keys.count == 1)
        #expect(try SigningKeyRing.load(from: path).keys.count == 1)
    }

    @Test("a key file written before rotation existed (no activatesAt) loads, its newest key active")
    func backwardCompatible() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let seed = [UInt8](repeating: 0x42, count: 32)
        let key = try SigningKey(seed: seed, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
        let old = """
            {
              "keys" : [
                {
                  "alg" : "EdDSA",
                  "createdAt" : "2023-11-14T22:13:20Z",
                  "kid" : "\(key.kid)",
                  "seed" : "\(Base64URL.encode(seed))"
                }
              ]
            }
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(old.utf8), attributes: [.posixPermissions: 0o600]))
        let ring = try SigningKeyRing.load(from: path)
        #expect(ring.keys.map(\.kid) == [key.kid])
        #expect(ring.active(at: clock.now()).kid == key.kid)
        #expect(ring.entries[0].activatesAt == key.createdAt)
        // And a rotation keeps it, adding the new fields.
        let (rotated, _) = try SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 60, clock: clock)
        #expect(rotated.keys.first?.kid == key.kid)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("activatesAt"))
    }

    @Test("a key file others can read, or holding a broken key, is refused")
    func refusedFiles() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        _ = try SigningKeyRing.loadOrCreate(at: path, clock: clock)
        chmod(path, 0o644)
        #expect(throws: ConfigurationError.self) { try SigningKeyRing.load(from: path) }
        chmod(path, 0o600)
        let broken = #"{"keys":[{"alg":"ES256","createdAt":"2023-11-14T22:13:20Z","kid":"k","seed":"AAAA"}]}"#
        try Data(broken.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigurationError.self) { try SigningKeyRing.load(from: path) }
    }

    @Test("eight concurrent rotations of one file (separate writers) lose none")
    func concurrentWriters() throws {
        let path = try Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        _ = try SigningKeyRing.loadOrCreate(at: path, clock: clock)
        let clock = self.clock
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            _ = try? SigningKeyRing.rotate(at: path, algorithm: .eddsa, activationDelay: 60, clock: clock)
        }
        let ring = try SigningKeyRing.load(from: path)
        #expect(ring.keys.count == 9)
        #expect(Set(ring.entries.map(\.activatesAt)).count == 9)
    }
}

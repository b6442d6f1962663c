import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The login host's signing keys, kept in one file readable by its owner only (0600),
/// in the order they start signing.
///
/// A key goes through four states. Rotation adds a **pending** key: published in the
/// JWKS at once, but signing only from its `activatesAt`, once every relying party
/// has had time to fetch it. It is then **active**: it signs, until the next key
/// activates. It is then **retiring**: no longer signing, still published for
/// ``retention`` so every token it signed can still be verified. Then it is
/// **expired**: gone from the JWKS, and pruned from the file by the next rotation or
/// start-up.
public struct SigningKeyRing: Sendable {
    /// How long a key stays published after it stops signing: the longest token any
    /// key signs (a back-channel logout token, 120 s), plus the verifiers' leeway (2 s),
    /// plus a margin for clocks and deliveries in flight.
    public static let retention: TimeInterval = 180

    /// One key and when it starts signing.
    public struct Entry: Sendable {
        public let key: SigningKey
        /// When this key starts signing; its creation for keys written before rotation existed.
        public let activatesAt: Date
    }

    /// Where a key is in its life at a given time.
    public enum KeyState: Sendable, Equatable {
        /// Published, signing from the date.
        case pending(activatesAt: Date)
        /// Signing.
        case active
        /// No longer signing; published until the date.
        case retiring(until: Date)
        /// No longer published; pruned by the next rotation or start-up.
        case expired
    }

    /// The keys in the order they start signing.
    public private(set) var entries: [Entry]

    /// Every key, in the order they start signing.
    public var keys: [SigningKey] { entries.map(\.key) }

    /// A ring holding `keys`, each active from its creation: the newest one signs.
    public init(keys: [SigningKey]) {
        self.init(entries: keys.map { Entry(key: $0, activatesAt: $0.createdAt) })
    }

    init(entries: [Entry]) {
        precondition(!entries.isEmpty, "a key ring needs a key")
        // A stable sort: keys activating at the same moment keep their file order.
        self.entries = entries.enumerated().sorted { ($0.element.activatesAt, $0.offset) < ($1.element.activatesAt, $1.offset) }
            .map(\.element)
    }

    /// The key that signs at `now`: the last one whose activation has come (or the
    /// first, should a clock stand before every activation).
    public func active(at now: Date) -> SigningKey {
        (entries.last { $0.activatesAt <= now } ?? entries[0]).key
    }

    /// The state of the key at `index` at `now`.
    public func state(ofKeyAt index: Int, at now: Date) -> KeyState {
        let entry = entries[index]
        if entry.activatesAt > now, index > 0 { return .pending(activatesAt: entry.activatesAt) }
        guard index + 1 < entries.count, entries[index + 1].activatesAt <= now else { return .active }
        let until = entries[index + 1].activatesAt.addingTimeInterval(Self.retention)
        return now < until ? .retiring(until: until) : .expired
    }

    /// Every key still to be published at `now`: pending, active and retiring ones.
    public func jwks(at now: Date) -> JWKSDocument {
        JWKSDocument(keys: entries.indices.filter { state(ofKeyAt: $0, at: now) != .expired }.map { entries[$0].key.publicJWK })
    }

    /// Drops the keys that have expired at `now`; returns them.
    @discardableResult
    public mutating func prune(at now: Date) -> [SigningKey] {
        let expired = entries.indices.filter { state(ofKeyAt: $0, at: now) == .expired }
        let dropped = expired.map { entries[$0].key }
        entries = entries.indices.filter { !expired.contains($0) }.map { entries[$0] }
        return dropped
    }

    /// Adds a new key of `algorithm`, published at once and signing from `now +
    /// activationDelay` (and after every key already in the ring); returns its entry.
    public mutating func rotate(algorithm: SigningAlgorithm, at now: Date, activationDelay: TimeInterval) -> Entry {
        var activatesAt = now.addingTimeInterval(max(activationDelay, 0))
        if let last = entries.last, last.activatesAt >= activatesAt { activatesAt = last.activatesAt.addingTimeInterval(1) }
        let entry = Entry(key: SigningKey(algorithm: algorithm, createdAt: now), activatesAt: activatesAt)
        entries.append(entry)
        return entry
    }

    // MARK: - The key file

    /// The key file. `activatesAt` was added with rotation: an entry without it is
    /// active from its creation, so files written before then load as they were.
    private struct FileFormat: Codable {
        struct Entry: Codable {
            var kid: String
            var alg: String
            /// The 32 private bytes: the Ed25519 seed, or the P-256 scalar `d`.
            var seed: String
            var createdAt: Date
            var activatesAt: Date?
        }
        var keys: [Entry]
    }

    /// Loads the ring from `path`, creating it with one new `algorithm` key on first
    /// start; keys that have expired are pruned from the file.
    public static func loadOrCreate(at path: String, algorithm: SigningAlgorithm = .eddsa, clock: any BatonClock) throws -> SigningKeyRing {
        try withLock(on: path) {
            let now = clock.now()
            guard FileManager.default.fileExists(atPath: path) else {
                let ring = SigningKeyRing(keys: [SigningKey(algorithm: algorithm, createdAt: now)])
                try ring.save(to: path)
                return ring
            }
            var ring = try load(from: path)
            if !ring.prune(at: now).isEmpty { try ring.save(to: path) }
            return ring
        }
    }

    /// Rotates the ring in the file at `path` (creating it if there is none): a new
    /// `algorithm` key, published at once, signing after `activationDelay`; expired
    /// keys are pruned. Concurrent writers to the same file are serialized by a lock,
    /// so no rotation is lost.
    public static func rotate(
        at path: String, algorithm: SigningAlgorithm, activationDelay: TimeInterval, clock: any BatonClock
    ) throws -> (ring: SigningKeyRing, added: Entry) {
        try withLock(on: path) {
            let now = clock.now()
            guard FileManager.default.fileExists(atPath: path) else {
                // Nothing signs yet, so nothing needs to see the key first.
                let ring = SigningKeyRing(keys: [SigningKey(algorithm: algorithm, createdAt: now)])
                try ring.save(to: path)
                return (ring, ring.entries[0])
            }
            var ring = try load(from: path)
            ring.prune(at: now)
            let added = ring.rotate(algorithm: algorithm, at: now, activationDelay: activationDelay)
            try ring.save(to: path)
            return (ring, added)
        }
    }

    /// Loads the ring from `path`, refusing a file that others can read.
    public static func load(from path: String) throws -> SigningKeyRing {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw ConfigurationError(field: "signing key file", message: "\(path) must not be readable by group or others (chmod 600)")
        }
        return try SigningKeyRing(encoded: try Data(contentsOf: URL(fileURLWithPath: path)), source: path)
    }

    /// The ring as the key file holds it (JSON, private keys included): also how a
    /// ``KeyRingStore`` keeps it.
    public func encoded() throws -> Data {
        let file = FileFormat(
            keys: entries.map {
                .init(
                    kid: $0.key.kid, alg: $0.key.algorithm.rawValue, seed: Base64URL.encode($0.key.privateBytes),
                    createdAt: $0.key.createdAt, activatesAt: $0.activatesAt)
            })
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(file)
    }

    /// A ring from what ``encoded()`` wrote; `source` names it in errors.
    public init(encoded data: Data, source: String) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let file = try decoder.decode(FileFormat.self, from: data)
        let entries = try file.keys.map { entry in
            guard let algorithm = SigningAlgorithm(rawValue: entry.alg), let bytes = Base64URL.decode(entry.seed),
                let key = try? SigningKey(algorithm: algorithm, privateKey: bytes, createdAt: entry.createdAt)
            else {
                throw ConfigurationError(field: "signing key file", message: "\(source) holds a key that is neither an Ed25519 seed nor a P-256 key")
            }
            return Entry(key: key, activatesAt: entry.activatesAt ?? entry.createdAt)
        }
        guard !entries.isEmpty else {
            throw ConfigurationError(field: "signing key file", message: "\(source) holds no key")
        }
        self.init(entries: entries)
    }

    /// Writes the ring atomically with mode 0600: readers see the old file or the new
    /// one, never half of one.
    public func save(to path: String) throws {
        try PrivateFiles.replace(path, with: try encoded())
    }

    /// Runs `body` holding an exclusive lock on `path.lock`, so that two writers (a
    /// rotation and a start-up, or two rotations) never interleave their
    /// read-modify-write of the key file.
    static func withLock<T>(on path: String, _ body: () throws -> T) throws -> T {
        try PrivateFiles.makeDirectory((path as NSString).deletingLastPathComponent)
        let descriptor = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError(field: "signing key file", message: "cannot open \(path).lock")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw ConfigurationError(field: "signing key file", message: "cannot lock \(path).lock")
            }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}

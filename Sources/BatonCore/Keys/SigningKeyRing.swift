import Foundation

/// The login host's signing keys, kept in one file readable by its owner only (0600).
/// The newest key signs; older keys stay published until every token they signed has
/// expired.
public struct SigningKeyRing: Sendable {
    public private(set) var keys: [SigningKey]

    /// The key that signs new tokens.
    public var active: SigningKey { keys[keys.count - 1] }

    /// A ring holding `keys`, the last one active.
    public init(keys: [SigningKey]) {
        precondition(!keys.isEmpty, "a key ring needs a key")
        self.keys = keys
    }

    /// Every key still to be published.
    public var jwks: JWKSDocument { JWKSDocument(keys: keys.map(\.publicJWK)) }

    private struct FileFormat: Codable {
        struct Entry: Codable {
            var kid: String
            var alg: String
            var seed: String
            var createdAt: Date
        }
        var keys: [Entry]
    }

    /// Loads the ring from `path`, creating it with one new key on first start.
    public static func loadOrCreate(at path: String, clock: any BatonClock) throws -> SigningKeyRing {
        if FileManager.default.fileExists(atPath: path) {
            return try load(from: path)
        }
        let ring = SigningKeyRing(keys: [SigningKey(createdAt: clock.now())])
        try ring.save(to: path)
        return ring
    }

    /// Loads the ring from `path`, refusing a file that others can read.
    public static func load(from path: String) throws -> SigningKeyRing {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw ConfigurationError(field: "signing key file", message: "\(path) must not be readable by group or others (chmod 600)")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let file = try decoder.decode(FileFormat.self, from: data)
        let keys = try file.keys.map { entry in
            guard entry.alg == "EdDSA", let seed = Base64URL.decode(entry.seed), seed.count == 32 else {
                throw ConfigurationError(field: "signing key file", message: "\(path) holds a key that is not an Ed25519 seed")
            }
            return try SigningKey(seed: seed, createdAt: entry.createdAt)
        }
        guard !keys.isEmpty else {
            throw ConfigurationError(field: "signing key file", message: "\(path) holds no key")
        }
        return SigningKeyRing(keys: keys)
    }

    /// Writes the ring atomically with mode 0600.
    public func save(to path: String) throws {
        let file = FileFormat(keys: keys.map { .init(kid: $0.kid, alg: "EdDSA", seed: Base64URL.encode($0.seed), createdAt: $0.createdAt) })
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(file)
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let temporary = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        // Create the file 0600 before any secret is written into it.
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError(field: "signing key file", message: "cannot create \(temporary)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary, path) == 0 else {
            throw ConfigurationError(field: "signing key file", message: "cannot write \(path)")
        }
    }
}

import Crypto
import Foundation

/// One signing key of the login host: the private half signs tokens, the public half
/// is published in the JWKS under ``kid``. Ed25519 (EdDSA) by default, or P-256
/// (ES256) when configured.
public struct SigningKey: Sendable {
    /// The RFC 7638 thumbprint of the public key: stable, and derived, never chosen.
    public let kid: String
    public let algorithm: SigningAlgorithm
    public let createdAt: Date
    let material: Material

    enum Material: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case p256(P256.Signing.PrivateKey)
    }

    /// A fresh random key.
    public init(algorithm: SigningAlgorithm = .eddsa, createdAt: Date) {
        switch algorithm {
        case .eddsa: self.init(material: .ed25519(Curve25519.Signing.PrivateKey()), createdAt: createdAt)
        case .es256: self.init(material: .p256(P256.Signing.PrivateKey()), createdAt: createdAt)
        }
    }

    /// An Ed25519 key from its 32-byte seed.
    public init(seed: [UInt8], createdAt: Date) throws {
        try self.init(algorithm: .eddsa, privateKey: seed, createdAt: createdAt)
    }

    /// A key from its 32 private bytes: the Ed25519 seed, or the P-256 scalar `d`.
    public init(algorithm: SigningAlgorithm, privateKey bytes: [UInt8], createdAt: Date) throws {
        guard bytes.count == 32 else { throw CryptoKitError.incorrectKeySize }
        switch algorithm {
        case .eddsa: self.init(material: .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: bytes)), createdAt: createdAt)
        case .es256: self.init(material: .p256(try P256.Signing.PrivateKey(rawRepresentation: bytes)), createdAt: createdAt)
        }
    }

    init(material: Material, createdAt: Date) {
        self.material = material
        self.createdAt = createdAt
        switch material {
        case .ed25519: algorithm = .eddsa
        case .p256: algorithm = .es256
        }
        kid = Self.publicJWK(of: material, kid: "").thumbprint
    }

    /// The 32 private bytes, for the key file only.
    var privateBytes: [UInt8] {
        switch material {
        case .ed25519(let key): Array(key.rawRepresentation)
        case .p256(let key): Array(key.rawRepresentation)
        }
    }

    /// The public half as a JWK.
    public var publicJWK: PublicJWK { Self.publicJWK(of: material, kid: kid) }

    private static func publicJWK(of material: Material, kid: String) -> PublicJWK {
        switch material {
        case .ed25519(let key):
            return PublicJWK(kid: kid, x: Base64URL.encode(key.publicKey.rawRepresentation))
        case .p256(let key):
            // x963: 0x04 || x || y, 32 bytes each.
            let point = Array(key.publicKey.x963Representation)
            return PublicJWK(kid: kid, p256X: Base64URL.encode(point[1..<33]), y: Base64URL.encode(point[33..<65]))
        }
    }

    /// The JWS signature over `input`: Ed25519's 64 bytes, or ES256's raw `r || s`
    /// (RFC 7518 §3.4), never DER.
    func sign(_ input: [UInt8]) throws -> [UInt8] {
        switch material {
        case .ed25519(let key): Array(try key.signature(for: input))
        case .p256(let key): Array(try key.signature(for: input).rawRepresentation)
        }
    }
}

/// A public signing key as published in a JWKS: Ed25519 (RFC 8037, `kty` OKP) or
/// P-256 (RFC 7518 §6.2, `kty` EC, with `y`).
public struct PublicJWK: Sendable, Equatable, Codable {
    public var kty = "OKP"
    public var crv = "Ed25519"
    public var alg = "EdDSA"
    public var use = "sig"
    public var kid: String
    public var x: String
    /// The P-256 y coordinate; absent for Ed25519.
    public var y: String?

    /// An Ed25519 public key with the given id and base64url `x`.
    public init(kid: String, x: String) {
        self.kid = kid
        self.x = x
    }

    /// A P-256 public key with the given id and base64url coordinates.
    public init(kid: String, p256X x: String, y: String) {
        self.kty = "EC"
        self.crv = "P-256"
        self.alg = SigningAlgorithm.es256.rawValue
        self.kid = kid
        self.x = x
        self.y = y
    }

    /// The algorithm this key verifies.
    public var algorithm: SigningAlgorithm { kty == "EC" ? .es256 : .eddsa }

    /// RFC 7638: SHA-256 over the required members in lexicographic order.
    public static func thumbprint(x: String) -> String {
        Secrets.hash(#"{"crv":"Ed25519","kty":"OKP","x":"\#(x)"}"#)
    }

    /// RFC 7638 for a P-256 key.
    public static func thumbprint(x: String, y: String) -> String {
        Secrets.hash(#"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#)
    }

    /// This key's RFC 7638 thumbprint.
    public var thumbprint: String {
        switch algorithm {
        case .eddsa: Self.thumbprint(x: x)
        case .es256: Self.thumbprint(x: x, y: y ?? "")
        }
    }

    /// The raw 32-byte Ed25519 key, if this is one.
    var rawKey: [UInt8]? {
        guard algorithm == .eddsa, let bytes = Base64URL.decode(x), bytes.count == 32 else { return nil }
        return bytes
    }

    /// The P-256 point, if this is one and it lies on the curve.
    var p256Key: P256.Signing.PublicKey? {
        guard algorithm == .es256, let x = Base64URL.decode(x), let y = y.flatMap({ Base64URL.decode($0) }),
            x.count == 32, y.count == 32
        else { return nil }
        return try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
    }

    /// The key, ready to check signatures; nil when its coordinates are not a key.
    var verifyingKey: VerifyingKey? {
        switch algorithm {
        case .eddsa: rawKey.flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }.map(VerifyingKey.ed25519)
        case .es256: p256Key.map(VerifyingKey.p256)
        }
    }
}

/// A trusted public key, as signatures are checked with it: by swift-crypto, over the
/// exact bytes the token carries, with nothing parsed a second time.
enum VerifyingKey: Sendable {
    case ed25519(Curve25519.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)

    var algorithm: SigningAlgorithm {
        switch self {
        case .ed25519: .eddsa
        case .p256: .es256
        }
    }

    /// True when `signature` is this key's over `input`.
    func isValidSignature(_ signature: [UInt8], for input: [UInt8]) -> Bool {
        switch self {
        case .ed25519(let key):
            return key.isValidSignature(signature, for: input)
        case .p256(let key):
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            // SHA-256 of the input, as ES256 specifies.
            return key.isValidSignature(ecdsa, for: input)
        }
    }
}

/// The JWKS document: `{"keys": [...]}`.
public struct JWKSDocument: Sendable, Equatable, Codable {
    public var keys: [PublicJWK]

    /// A key set.
    public init(keys: [PublicJWK]) { self.keys = keys }

    /// Reads a JWKS strictly; entries that are neither Ed25519 nor P-256 signing keys
    /// are skipped, entries that claim to be one and are broken make the document
    /// invalid.
    public init(json bytes: [UInt8]) throws(BatonError) {
        guard let members = try? StrictJSON.parseObject(bytes, maxDepth: 4),
            members.count >= 1, let keysValue = members.first(where: { $0.0 == "keys" })?.1,
            case .array(let entries) = keysValue
        else { throw .storeUnavailable }
        var keys: [PublicJWK] = []
        for entry in entries {
            guard case .object(let fields) = entry else { throw .storeUnavailable }
            let field = { (name: String) in fields.first(where: { $0.0 == name })?.1.stringValue }
            if let use = field("use"), use != "sig" { continue }
            switch (field("kty"), field("crv")) {
            case ("OKP", "Ed25519"):
                if let alg = field("alg"), alg != SigningAlgorithm.eddsa.rawValue { continue }
                guard let kid = field("kid"), let x = field("x") else { throw .storeUnavailable }
                let jwk = PublicJWK(kid: kid, x: x)
                guard jwk.rawKey != nil else { throw .storeUnavailable }
                keys.append(jwk)
            case ("EC", "P-256"):
                if let alg = field("alg"), alg != SigningAlgorithm.es256.rawValue { continue }
                guard let kid = field("kid"), let x = field("x"), let y = field("y") else { throw .storeUnavailable }
                let jwk = PublicJWK(kid: kid, p256X: x, y: y)
                guard jwk.p256Key != nil else { throw .storeUnavailable }
                keys.append(jwk)
            default:
                continue
            }
        }
        self.keys = keys
    }

    /// The document as JSON.
    public func jsonBytes() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data(#"{"keys":[]}"#.utf8))
    }
}

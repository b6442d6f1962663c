import Crypto
import Foundation
import JWTKit

/// One Ed25519 key of the login host: the private half signs handoff tokens, the
/// public half is published in the JWKS under ``kid``.
public struct SigningKey: Sendable {
    /// The RFC 7638 thumbprint of the public key: stable, and derived, never chosen.
    public let kid: String
    public let createdAt: Date
    let privateKey: Curve25519.Signing.PrivateKey

    /// A fresh random key.
    public init(createdAt: Date) {
        self.init(privateKey: Curve25519.Signing.PrivateKey(), createdAt: createdAt)
    }

    /// A key from its 32-byte seed.
    public init(seed: [UInt8], createdAt: Date) throws {
        self.init(privateKey: try Curve25519.Signing.PrivateKey(rawRepresentation: seed), createdAt: createdAt)
    }

    init(privateKey: Curve25519.Signing.PrivateKey, createdAt: Date) {
        self.privateKey = privateKey
        self.createdAt = createdAt
        self.kid = PublicJWK.thumbprint(x: Base64URL.encode(privateKey.publicKey.rawRepresentation))
    }

    /// The 32-byte seed, for the key file only.
    var seed: [UInt8] { Array(privateKey.rawRepresentation) }

    /// The public half as a JWK.
    public var publicJWK: PublicJWK {
        PublicJWK(kid: kid, x: Base64URL.encode(privateKey.publicKey.rawRepresentation))
    }

    /// The key in jwt-kit's terms.
    var eddsa: EdDSA.PrivateKey { EdDSA.PrivateKey(backing: privateKey) }
}

/// An Ed25519 public key as published in a JWKS (RFC 8037).
public struct PublicJWK: Sendable, Equatable, Codable {
    public var kty = "OKP"
    public var crv = "Ed25519"
    public var alg = "EdDSA"
    public var use = "sig"
    public var kid: String
    public var x: String

    /// A public key with the given id and base64url `x`.
    public init(kid: String, x: String) {
        self.kid = kid
        self.x = x
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order.
    public static func thumbprint(x: String) -> String {
        Secrets.hash(#"{"crv":"Ed25519","kty":"OKP","x":"\#(x)"}"#)
    }

    /// The raw 32-byte key, if `x` is one.
    var rawKey: [UInt8]? {
        guard let bytes = Base64URL.decode(x), bytes.count == 32 else { return nil }
        return bytes
    }
}

/// The JWKS document: `{"keys": [...]}`.
public struct JWKSDocument: Sendable, Equatable, Codable {
    public var keys: [PublicJWK]

    /// A key set.
    public init(keys: [PublicJWK]) { self.keys = keys }

    /// Reads a JWKS strictly; entries that are not Ed25519 signing keys are skipped,
    /// entries that claim to be and are broken make the document invalid.
    public init(json bytes: [UInt8]) throws(BatonError) {
        guard let members = try? StrictJSON.parseObject(bytes, maxDepth: 4),
            members.count >= 1, let keysValue = members.first(where: { $0.0 == "keys" })?.1,
            case .array(let entries) = keysValue
        else { throw .storeUnavailable }
        var keys: [PublicJWK] = []
        for entry in entries {
            guard case .object(let fields) = entry else { throw .storeUnavailable }
            let field = { (name: String) in fields.first(where: { $0.0 == name })?.1.stringValue }
            guard field("kty") == "OKP", field("crv") == "Ed25519" else { continue }
            if let use = field("use"), use != "sig" { continue }
            if let alg = field("alg"), alg != "EdDSA" { continue }
            guard let kid = field("kid"), let x = field("x") else { throw .storeUnavailable }
            let jwk = PublicJWK(kid: kid, x: x)
            guard jwk.rawKey != nil else { throw .storeUnavailable }
            keys.append(jwk)
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

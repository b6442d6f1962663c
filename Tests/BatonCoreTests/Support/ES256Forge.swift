import Crypto
import Foundation

@testable import BatonCore

/// Signs arbitrary header and payload text with a P-256 key (ES256: raw `r || s`), so
/// tests can build exactly the tokens an attacker would.
struct ES256Forge: Sendable {
    let privateKey: P256.Signing.PrivateKey
    /// The same key as Baton sees it; its `kid` is the RFC 7638 thumbprint.
    let signingKey: SigningKey

    /// A key from the private scalar 0x`scalarByte` repeated 32 times.
    init(scalarByte: UInt8) throws {
        let scalar = [UInt8](repeating: scalarByte, count: 32)
        privateKey = try P256.Signing.PrivateKey(rawRepresentation: scalar)
        signingKey = try SigningKey(algorithm: .es256, privateKey: scalar, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    var kid: String { signingKey.kid }

    /// The raw 64-byte ES256 signature over `input`.
    func signature(over input: String) throws -> [UInt8] {
        Array(try privateKey.signature(for: Data(input.utf8)).rawRepresentation)
    }

    /// `base64url(header).base64url(payload).base64url(signature)`.
    func token(header: String, payload: String) throws -> String {
        let input = TokenForge.part(header) + "." + TokenForge.part(payload)
        return input + "." + Base64URL.encode(try signature(over: input))
    }
}

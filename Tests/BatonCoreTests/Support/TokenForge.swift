import Crypto
import Foundation
import Testing

@testable import BatonCore

/// Signs arbitrary header and payload text with an Ed25519 key, so tests can build
/// exactly the hostile tokens an attacker would, byte for byte.
struct TokenForge: Sendable {
    let privateKey: Curve25519.Signing.PrivateKey
    /// The same key as Baton sees it; its `kid` is the RFC 7638 thumbprint.
    let signingKey: SigningKey

    /// A key from a seed of 32 copies of `seedByte`.
    init(seedByte: UInt8) throws {
        let seed = [UInt8](repeating: seedByte, count: 32)
        privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        signingKey = try SigningKey(seed: seed, createdAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    var kid: String { signingKey.kid }

    /// base64url of the UTF-8 text, unpadded.
    static func part(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    /// The raw Ed25519 signature over `input`.
    func signature(over input: String) throws -> [UInt8] {
        Array(try privateKey.signature(for: Data(input.utf8)))
    }

    /// `base64url(header).base64url(payload).base64url(signature)`.
    func token(header: String, payload: String) throws -> String {
        let input = Self.part(header) + "." + Self.part(payload)
        return input + "." + Base64URL.encode(try signature(over: input))
    }
}

/// Pieces of a compact token.
struct TokenParts {
    var header: String
    var payload: String
    var signature: String

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        header = parts[0]
        payload = parts[1]
        signature = parts[2]
    }

    var token: String { header + "." + payload + "." + signature }
    var signingInput: String { header + "." + payload }
}

/// A JSON string literal for `text` (test values need no escaping).
func q(_ text: String) -> String { "\"" + text + "\"" }

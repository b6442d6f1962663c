import BatonCore
import Crypto
import Foundation

/// Builds hostile tokens from a real one: the attacker's tools. Everything here is
/// what anyone holding one token and the public JWKS can do.
public struct TokenForge: Sendable {
    /// The real token's parts, as sent.
    public let header: String
    public let payload: String
    public let signature: String
    /// The real token's claims, as JSON text.
    public let claimsJSON: String
    public let headerJSON: String
    public let attackerKey = Curve25519.Signing.PrivateKey()

    /// Takes a real token apart; nil when it is not three base64url parts.
    public init?(token: String) {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let header = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]) else { return nil }
        self.header = parts[0]
        self.payload = parts[1]
        self.signature = parts[2]
        self.headerJSON = String(decoding: header, as: UTF8.self)
        self.claimsJSON = String(decoding: payload, as: UTF8.self)
    }

    /// The value of a string member of the real header or claims.
    public func claim(_ name: String) -> String? {
        member(name, in: claimsJSON)
    }

    public var kid: String? { member("kid", in: headerJSON) }

    /// The real header's `alg`: the one the relying party pins (EdDSA unless ES256 is
    /// configured), so that a forgery's other faults are not hidden behind a wrong one.
    public var alg: String { member("alg", in: headerJSON) ?? "EdDSA" }

    private func member(_ name: String, in json: String) -> String? {
        guard let members = try? StrictJSON.parseObject(Array(json.utf8)) else { return nil }
        return members.first { $0.0 == name }?.1.stringValue
    }

    /// The real claims with members replaced (`nil` removes one), as JSON text.
    /// Values are JSON fragments: `"\"x\""`, `"12"`, `"[\"a\"]"`.
    public func claims(replacing changes: [String: String?]) -> String {
        guard let members = try? StrictJSON.parseObject(Array(claimsJSON.utf8)) else { return claimsJSON }
        var parts: [String] = []
        var seen = Set<String>()
        for (name, value) in members {
            seen.insert(name)
            if let change = changes[name] {
                if let change { parts.append("\"\(name)\":\(change)") }
            } else {
                parts.append("\"\(name)\":\(Self.json(value))")
            }
        }
        for (name, value) in changes.sorted(by: { $0.key < $1.key }) where !seen.contains(name) {
            if let value { parts.append("\"\(name)\":\(value)") }
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A compact token from raw header and payload JSON, signed by the attacker's
    /// Ed25519 key.
    public func signedByAttacker(header: String, payload: String) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let signature = (try? attackerKey.signature(for: Data(input.utf8))) ?? Data()
        return input + "." + Base64URL.encode(signature)
    }

    /// A compact token from raw header and payload JSON with the given signature part.
    public func unsigned(header: String, payload: String, signature: String = "") -> String {
        Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "." + signature
    }

    /// A token MACed with HS256/384/512 keyed with `key` (e.g. the login host's public key).
    public func hmac(alg: String, key: [UInt8], payload: String? = nil) -> String {
        let header = #"{"alg":"\#(alg)","kid":"\#(kid ?? "")","typ":"handoff+jwt"}"#
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array((payload ?? claimsJSON).utf8))
        let symmetric = SymmetricKey(data: key)
        let mac: [UInt8]
        switch alg {
        case "HS384": mac = Array(HMAC<SHA384>.authenticationCode(for: Data(input.utf8), using: symmetric))
        case "HS512": mac = Array(HMAC<SHA512>.authenticationCode(for: Data(input.utf8), using: symmetric))
        default: mac = Array(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: symmetric))
        }
        return input + "." + Base64URL.encode(mac)
    }

    /// The real header and payload with the signature's S half increased by the group
    /// order L: a second spelling of a valid Ed25519 signature, refused by strict verifiers.
    public func malleated() -> String? {
        guard var bytes = Base64URL.decode(signature), bytes.count == 64 else { return nil }
        let order: [UInt8] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ]
        var carry = 0
        for index in 0..<32 {
            let sum = Int(bytes[32 + index]) + Int(order[index]) + carry
            bytes[32 + index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return header + "." + payload + "." + Base64URL.encode(bytes)
    }

    static func json(_ value: JSONValue) -> String {
        switch value {
        case .string(let text):
            let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .object(let members): return "{" + members.map { "\"\($0.0)\":\(json($0.1))" }.joined(separator: ",") + "}"
        }
    }
}

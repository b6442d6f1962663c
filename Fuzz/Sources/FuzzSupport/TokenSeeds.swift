import BatonCore
import Crypto
import Foundation

/// The seed corpora of the token harnesses: the genuine tokens of ``TokenWorld`` and the
/// shapes the attack suite (Sources/BatonAttack/Cases+Forgery.swift) sends.
public enum TokenSeeds {
    /// A header and a payload, as JSON text, for the claims harness.
    public struct Parts {
        public var name: String
        public var header: String
        public var payload: String

        /// The claims harness's input: header, a NUL, payload.
        public var bytes: [UInt8] { Array(header.utf8) + [0] + Array(payload.utf8) }
    }

    /// Every token seed: a name and the token text.
    public static func all(_ world: TokenWorld) -> [(name: String, token: String)] {
        let genuine = world.genuineHandoffEdDSA
        let parts = genuine.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let (header, payload, signature) = (parts[0], parts[1], parts[2])
        let signatureBytes = Base64URL.decode(signature) ?? []
        let edX = Base64URL.decode(world.edKey.publicJWK.x) ?? []
        var seeds: [(String, String)] = [
            ("genuine-handoff-eddsa", genuine),
            ("genuine-handoff-es256", world.genuineHandoffES256),
            ("genuine-logout-eddsa", world.genuineLogoutEdDSA),
            ("empty-signature", header + "." + payload + "."),
            ("truncated-signature", header + "." + payload + "." + String(signature.prefix(40))),
            ("ed25519-S-plus-L", header + "." + payload + "." + Base64URL.encode(malleated(signatureBytes))),
            ("es256-signature-on-eddsa-token", header + "." + payload + "." + world.genuineHandoffES256.split(separator: ".")[2]),
            ("padding-in-a-part", header + "==." + payload + "." + signature),
            ("whitespace-in-a-part", header + "." + payload.prefix(10) + " " + payload.dropFirst(10) + "." + signature),
            ("plus-and-slash", header + "." + payload + ".+/" + signature.dropFirst(2)),
            ("standard-base64-signature", header + "." + payload + "." + Data(signatureBytes).base64EncodedString()),
            (
                "jws-json-serialization",
                #"{"protected":"\#(header)","payload":"\#(payload)","signature":"\#(signature)"}"#
            ),
            (
                "five-part-jwe",
                Base64URL.encode(Array(#"{"alg":"dir","enc":"A256GCM"}"#.utf8)) + ".." + Base64URL.encode([UInt8](repeating: 1, count: 12))
                    + "." + payload + "." + Base64URL.encode([UInt8](repeating: 2, count: 16))
            ),
            ("four-parts", genuine + "."),
            ("two-parts", header + "." + payload),
            ("empty", ""),
            ("dots-only", ".."),
            ("header-not-json", Base64URL.encode(Array("not json".utf8)) + "." + payload + "." + signature),
            ("over-4096-bytes", String(repeating: "A", count: 4097)),
            ("exactly-4096-bytes", header + "." + payload + "." + String(repeating: "A", count: 4096 - header.count - payload.count - 2)),
        ]
        for (alg, name) in [("none", "none"), ("HS256", "HS256"), ("", "empty"), ("ES256", "ES256-with-ed-kid"), ("RS256", "RS256")] {
            let forged = TokenWorld.header(alg: alg, kid: world.edKey.kid, typ: TokenType.handoff.rawValue)
            seeds.append(("alg-\(name)-unsigned", Base64URL.encode(forged) + "." + payload + "."))
            seeds.append(("alg-\(name)-with-signature", Base64URL.encode(forged) + "." + payload + "." + signature))
        }
        let hmacHeader = Base64URL.encode(TokenWorld.header(alg: "HS256", kid: world.edKey.kid, typ: TokenType.handoff.rawValue))
        let mac = HMAC<SHA256>.authenticationCode(for: Array((hmacHeader + "." + payload).utf8), using: SymmetricKey(data: edX))
        seeds.append(("hs256-keyed-with-public-key", hmacHeader + "." + payload + "." + Base64URL.encode(Array(mac))))
        // Signed by the trusted key: only the claims or the header are at fault.
        for parts in claimSeeds(world) {
            seeds.append(("signed-" + parts.name, world.signEdDSA(header: Array(parts.header.utf8), payload: Array(parts.payload.utf8))))
        }
        return seeds
    }

    /// Headers and payloads: the genuine ones and the attack suite's faults.
    public static func claimSeeds(_ world: TokenWorld) -> [Parts] {
        let kid = world.edKey.kid
        let handoff = String(decoding: world.handoffClaims.jsonBytes(), as: UTF8.self)
        let logout = String(decoding: world.logoutClaims.jsonBytes(), as: UTF8.self)
        let header = #"{"alg":"EdDSA","kid":"\#(kid)","typ":"handoff+jwt"}"#
        let logoutHeader = #"{"alg":"EdDSA","kid":"\#(kid)","typ":"logout+jwt"}"#
        let iat = TokenWorld.issuedAt
        // The kid with its first character written as a \u escape: the same string.
        let escapedKid = (kid.utf8.first.map { String(format: "\\u%04x", Int($0)) } ?? "") + kid.dropFirst()
        func claims(_ changes: [String: String?], extra: String = "") -> String {
            var members: [(String, String)] = [
                ("iss", #""\#(TokenWorld.issuer)""#), ("aud", #""\#(TokenWorld.audience)""#), ("sid", #""\#(TokenWorld.sid)""#),
                ("jti", #""\#(TokenWorld.handoffJTI)""#), ("iat", "\(iat)"), ("exp", "\(iat + 10)"),
                ("nonce", #""\#(HandoffClaims.nonce(forState: TokenWorld.state))""#),
            ]
            for (name, value) in changes {
                members.removeAll { $0.0 == name }
                if let value { members.append((name, value)) }
            }
            return "{" + members.map { #""\#($0.0)":\#($0.1)"# }.joined(separator: ",") + extra + "}"
        }
        var seeds: [Parts] = [
            Parts(name: "genuine-handoff", header: header, payload: handoff),
            Parts(name: "genuine-logout", header: logoutHeader, payload: logout),
            Parts(name: "handoff-with-nbf", header: header, payload: claims(["nbf": "\(iat + 4)"])),
            Parts(name: "expiry-edge", header: header, payload: claims(["iat": "\(iat - 55)", "exp": "\(iat + 1)"])),
            Parts(name: "lifetime-over-the-cap", header: header, payload: claims(["exp": "\(iat + 61)"])),
            Parts(name: "iat-in-the-future", header: header, payload: claims(["iat": "\(iat + 6)", "exp": "\(iat + 16)"])),
            Parts(name: "exp-before-iat", header: header, payload: claims(["exp": "\(iat - 1)"])),
            Parts(name: "wrong-audience", header: header, payload: claims(["aud": #""reports""#])),
            Parts(name: "wrong-issuer", header: header, payload: claims(["iss": #""https://login.example/""#])),
            Parts(name: "duplicate-aud", header: header, payload: claims([:], extra: #","aud":"dashboard-other""#)),
            Parts(name: "duplicate-sid", header: header, payload: claims([:], extra: #","sid":"someone-else""#)),
            Parts(name: "duplicate-alg", header: #"{"alg":"none","alg":"EdDSA","kid":"\#(kid)","typ":"handoff+jwt"}"#, payload: handoff),
            Parts(name: "typ-missing", header: #"{"alg":"EdDSA","kid":"\#(kid)"}"#, payload: handoff),
            Parts(name: "typ-JWT", header: #"{"alg":"EdDSA","kid":"\#(kid)","typ":"JWT"}"#, payload: handoff),
            Parts(name: "typ-logout-on-handoff", header: logoutHeader, payload: handoff),
            Parts(name: "kid-missing", header: #"{"alg":"EdDSA","typ":"handoff+jwt"}"#, payload: handoff),
            Parts(name: "kid-of-the-p256-key", header: #"{"alg":"EdDSA","kid":"\#(world.p256Key.kid)","typ":"handoff+jwt"}"#, payload: handoff),
            Parts(name: "kid-escaped", header: #"{"alg":"EdDSA","kid":"\#(escapedKid)","typ":"handoff+jwt"}"#, payload: handoff),
            Parts(name: "payload-json-array", header: header, payload: "[" + handoff + "]"),
            Parts(name: "nonce-in-logout", header: logoutHeader, payload: String(logout.dropLast()) + #","nonce":"x"}"#),
            Parts(name: "logout-events-extra", header: logoutHeader, payload: logout.replacingOccurrences(of: ":{}}", with: #":{"x":1}}"#)),
        ]
        for (name, members) in [
            ("jku", #","jku":"https://attacker.example/jwks.json""#), ("x5u", #","x5u":"https://attacker.example/cert.pem""#),
            ("x5c", #","x5c":["MIIBszCCAVmgAwIBAgIUQ"]"#), ("jwk", #","jwk":{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#),
            ("crit", #","crit":["exp"]"#), ("b64-false", #","b64":false,"crit":["b64"]"#), ("cty-JWT", #","cty":"JWT""#),
            ("zip", #","zip":"DEF""#),
        ] {
            seeds.append(Parts(name: "header-\(name)", header: String(header.dropLast()) + members + "}", payload: handoff))
        }
        for (name, changes) in [
            ("iat-as-string", ["iat": #""1750000000""#]), ("exp-as-float", ["exp": "1750000010.5"]), ("exp-as-bool", ["exp": "true"]),
            ("exp-as-null", ["exp": "null"]), ("exp-1e308", ["exp": "1e308"]), ("exp-negative", ["exp": "-1"]), ("iat-minus-zero", ["iat": "-0"]),
            ("aud-as-array", ["aud": #"["dashboard"]"#]), ("sid-as-object", ["sid": "{}"]), ("jti-as-number", ["jti": "12345678901234567890"]),
            ("jti-too-short", ["jti": #""short""#]), ("missing-jti", ["jti": nil]), ("missing-nonce", ["nonce": nil]),
            ("missing-exp", ["exp": nil]), ("extra-claim-email", ["email": #""alice@example.com""#]),
            ("sid-escaped-unicode", ["sid": #""s\u00e9\ud83d\ude00""#]), ("iss-lone-surrogate", ["iss": #""\ud800""#]),
        ] as [(String, [String: String?])] {
            seeds.append(Parts(name: "claim-\(name)", header: header, payload: claims(changes)))
        }
        return seeds
    }

    /// An Ed25519 signature with L added to S: the same point, the malleable spelling.
    static func malleated(_ signature: [UInt8]) -> [UInt8] {
        guard signature.count == 64 else { return signature }
        let order: [UInt8] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ]
        var out = signature
        var carry = 0
        for index in 0..<32 {
            let sum = Int(signature[32 + index]) + Int(order[index]) + carry
            out[32 + index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        return out
    }
}

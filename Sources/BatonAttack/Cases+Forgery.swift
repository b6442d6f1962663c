import BatonCore
import Foundation

extension AttackSuite {
    /// A case that crafts a token from a fresh real one and expects `code`.
    static func forged(
        _ name: String, expect code: BatonError, _ craft: @escaping @Sendable (TokenForge, AttackContext) async throws -> String
    ) -> AttackCase {
        AttackCase("forgery", name) { context in
            let (browser, _, token) = try await context.freshToken()
            guard let forge = TokenForge(token: token) else { return .fail("the login host's token is not a compact JWS") }
            let crafted = try await craft(forge, context)
            return context.refused(try await context.redeem(browser, token: crafted), code)
        }
    }

    /// The real header with members replaced, as JSON text.
    static func header(_ forge: TokenForge, _ members: String) -> String {
        #"{"alg":"EdDSA","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"\#(members)}"#
    }

    static var forgeryCases: [AttackCase] {
        algorithmCases + signatureCases + headerParameterCases + typeCases + claimCases + encodingCases
    }

    static let algorithmCases: [AttackCase] =
        ["none", "None", "NONE", "nOnE"].flatMap { alg in
            [
                forged("alg-\(alg)-unsigned", expect: .tokenUnsupportedAlg) { forge, _ in
                    forge.unsigned(header: #"{"alg":"\#(alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
                },
                forged("alg-\(alg)-with-signature", expect: .tokenUnsupportedAlg) { forge, _ in
                    forge.unsigned(
                        header: #"{"alg":"\#(alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON,
                        signature: forge.signature)
                },
            ]
        } + [
            forged("hs256-keyed-with-public-key-bytes", expect: .tokenUnsupportedAlg) { forge, context in
                forge.hmac(alg: "HS256", key: try await context.publicKey().raw)
            },
            forged("hs256-keyed-with-public-key-pem", expect: .tokenUnsupportedAlg) { forge, context in
                let raw = try await context.publicKey().raw
                let der: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00] + raw
                let pem = "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
                return forge.hmac(alg: "HS256", key: Array(pem.utf8))
            },
            forged("hs256-keyed-with-public-jwk-text", expect: .tokenUnsupportedAlg) { forge, context in
                forge.hmac(alg: "HS256", key: Array(try await context.publicKey().jwk.utf8))
            },
            forged("hs384-keyed-with-public-key", expect: .tokenUnsupportedAlg) { forge, context in
                forge.hmac(alg: "HS384", key: try await context.publicKey().raw)
            },
            forged("hs512-keyed-with-public-key", expect: .tokenUnsupportedAlg) { forge, context in
                forge.hmac(alg: "HS512", key: try await context.publicKey().raw)
            },
        ] + ["RS256", "ES256", "PS256", "Ed25519", "eddsa", ""].map { alg in
            forged("alg-\(alg.isEmpty ? "empty" : alg)", expect: .tokenUnsupportedAlg) { forge, _ in
                forge.unsigned(
                    header: #"{"alg":"\#(alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON,
                    signature: forge.signature)
            }
        }

    static let signatureCases: [AttackCase] = [
            forged("empty-signature", expect: .tokenInvalidSignature) { forge, _ in forge.header + "." + forge.payload + "." },
            forged("tampered-payload", expect: .tokenInvalidSignature) { forge, _ in
                let payload = forge.claims(replacing: ["sid": "\"\(Secrets.random(bytes: 18))\""])
                return forge.header + "." + Base64URL.encode(Array(payload.utf8)) + "." + forge.signature
            },
            forged("another-tokens-signature", expect: .tokenInvalidSignature) { forge, context in
                let (_, _, other) = try await context.freshToken()
                return forge.header + "." + forge.payload + "." + (TokenForge(token: other)?.signature ?? "")
            },
            forged("ed25519-signature-with-L-added-to-S", expect: .tokenInvalidSignature) { forge, _ in
                forge.malleated() ?? ""
            },
            forged("truncated-signature", expect: .tokenInvalidSignature) { forge, _ in
                forge.header + "." + forge.payload + "." + String(forge.signature.prefix(40))
            },
            forged("attacker-key-with-real-kid", expect: .tokenInvalidSignature) { forge, _ in
                forge.signedByAttacker(header: forge.headerJSON, payload: forge.claimsJSON)
            },
            forged("attacker-key-with-own-kid", expect: .tokenUnknownKey) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","kid":"attacker-key-1","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-missing", expect: .tokenUnknownKey) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-path-traversal", expect: .tokenUnknownKey) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","kid":"../../../../etc/passwd","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-sql-injection", expect: .tokenUnknownKey) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","kid":"x' OR '1'='1","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            AttackCase("forgery", "kid-100-kb-is-a-client-error") { context in
                let (browser, _, token) = try await context.freshToken()
                guard let forge = TokenForge(token: token) else { return .fail("unreadable token") }
                let crafted = forge.signedByAttacker(
                    header: #"{"alg":"EdDSA","kid":"\#(String(repeating: "k", count: 100_000))","typ":"handoff+jwt"}"#,
                    payload: forge.claimsJSON)
                let response = try await context.redeem(browser, token: crafted)
                let health = try await browser.get(context.dashboard + "/healthz")
                return .check(
                    (400..<500).contains(response.status) && !context.redeemed(response) && health.status == 200,
                    "answered \(response.status) \(response.batonError ?? ""); /healthz then \(health.status)")
            },
        ]

    static let headerParameterCases: [AttackCase] = [
            ("jku", #","jku":"LISTENER/jwks.json""#), ("x5u", #","x5u":"LISTENER/cert.pem""#),
            ("x5c", #","x5c":["MIIBszCCAVmgAwIBAgIUQ"]"#), ("jwk", #","jwk":{"kty":"OKP","crv":"Ed25519","x":"ATTACKER"}"#),
            ("crit", #","crit":["exp"]"#), ("b64-false", #","b64":false,"crit":["b64"]"#), ("cty-JWT", #","cty":"JWT""#),
            ("unknown-header-parameter", #","zip":"DEF""#),
        ].map { name, members in
            forged("header-\(name)", expect: .tokenMalformed) { forge, context in
                let listener = try await context.outboundListener()
                let attackerX = Base64URL.encode(forge.attackerKey.publicKey.rawRepresentation)
                let extra = members.replacingOccurrences(of: "LISTENER", with: listener.url).replacingOccurrences(of: "ATTACKER", with: attackerX)
                return forge.signedByAttacker(header: header(forge, extra), payload: forge.claimsJSON)
            }
        } + [
            AttackCase("forgery", "no-outbound-fetch-for-jku-or-x5u") { context in
                let listener = try await context.outboundListener()
                return .check(listener.connections == 0, "\(listener.connections) connection(s) reached \(listener.url)")
            }
        ]

    static let typeCases: [AttackCase] = ["JWT", "jwt", "logout+jwt", "application/handoff+jwt", "handoff+JWT"].map { typ in
            forged("typ-\(typ.replacingOccurrences(of: "/", with: "-"))", expect: .tokenWrongType) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","kid":"\#(forge.kid ?? "")","typ":"\#(typ)"}"#, payload: forge.claimsJSON)
            }
        } + [
            forged("typ-missing", expect: .tokenWrongType) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"EdDSA","kid":"\#(forge.kid ?? "")"}"#, payload: forge.claimsJSON)
            },
            forged("duplicate-alg-in-header", expect: .tokenMalformed) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"none","alg":"EdDSA","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("duplicate-aud-in-claims", expect: .tokenMalformed) { forge, _ in
                let claims = forge.claimsJSON.dropLast() + #","aud":"reports"}"#
                return forge.signedByAttacker(header: forge.headerJSON, payload: String(claims))
            },
            forged("duplicate-sid-in-claims", expect: .tokenMalformed) { forge, _ in
                let claims = forge.claimsJSON.dropLast() + #","sid":"someone-else"}"#
                return forge.signedByAttacker(header: forge.headerJSON, payload: String(claims))
            },
        ]

    static let claimCases: [AttackCase] = [
            ("iat-as-string", ["iat": "\"1700000000\""]), ("exp-as-string", ["exp": "\"9999999999\""]),
            ("exp-as-float", ["exp": "9999999999.5"]), ("exp-as-bool", ["exp": "true"]), ("exp-as-null", ["exp": "null"]),
            ("exp-1e308", ["exp": "1e308"]), ("iat-1e308", ["iat": "1e308"]), ("exp-negative", ["exp": "-1"]),
            ("aud-as-array", ["aud": "[\"dashboard\"]"]), ("aud-as-number", ["aud": "1"]), ("sid-as-object", ["sid": "{}"]),
            ("jti-as-number", ["jti": "12345678901234567890"]), ("jti-too-short", ["jti": "\"short\""]),
            ("missing-jti", ["jti": nil]), ("missing-nonce", ["nonce": nil]), ("missing-exp", ["exp": nil]),
            ("extra-claim-email", ["email": "\"alice@example.com\""]),
        ].map { name, changes in
            forged("claim-\(name)", expect: .tokenMalformed) { forge, _ in
                forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: changes))
            }
        }

    static let encodingCases: [AttackCase] = [
            // Signed by an attacker, so the signature fails before the claims are trusted.
            forged("lifetime-over-the-cap", expect: .tokenInvalidSignature) { forge, _ in
                let iat = Int64(Date().timeIntervalSince1970)
                return forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: ["iat": "\(iat)", "exp": "\(iat + 3600)"]))
            },
            forged("iat-in-the-future", expect: .tokenInvalidSignature) { forge, _ in
                let iat = Int64(Date().timeIntervalSince1970) + 3600
                return forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: ["iat": "\(iat)", "exp": "\(iat + 10)"]))
            },
            forged("padding-in-a-part", expect: .tokenMalformed) { forge, _ in forge.header + "==." + forge.payload + "." + forge.signature },
            forged("whitespace-in-a-part", expect: .tokenMalformed) { forge, _ in
                forge.header + "." + forge.payload.prefix(10) + "%20" + forge.payload.dropFirst(10) + "." + forge.signature
            },
            forged("plus-and-slash-in-a-part", expect: .tokenMalformed) { forge, _ in
                // Always a `+` and a `/` (percent-encoded in the query), whatever the signature's bytes.
                forge.header + "." + forge.payload + "." + "%2B%2F" + forge.signature.dropFirst(2)
            },
            forged("standard-base64-signature", expect: .tokenMalformed) { forge, _ in
                let bytes = Base64URL.decode(forge.signature) ?? []
                let standard = Data(bytes).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                return forge.header + "." + forge.payload + "." + standard
            },
            forged("jws-json-serialization", expect: .tokenMalformed) { forge, _ in
                let json = #"{"protected":"\#(forge.header)","payload":"\#(forge.payload)","signature":"\#(forge.signature)"}"#
                return json.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            },
            forged("five-part-jwe", expect: .tokenMalformed) { forge, _ in
                let header = Base64URL.encode(Array(#"{"alg":"dir","enc":"A256GCM","kid":"\#(forge.kid ?? "")"}"#.utf8))
                return header + ".." + Base64URL.encode(Array(repeating: 1, count: 12)) + "." + forge.payload + "." + Base64URL.encode(Array(repeating: 2, count: 16))
            },
            forged("four-parts", expect: .tokenMalformed) { forge, _ in forge.header + "." + forge.payload + "." + forge.signature + "." },
            forged("two-parts", expect: .tokenMalformed) { forge, _ in forge.header + "." + forge.payload },
            forged("empty-token-parameter", expect: .tokenMalformed) { _, _ in "" },
            forged("header-not-json", expect: .tokenMalformed) { forge, _ in
                Base64URL.encode(Array("not json".utf8)) + "." + forge.payload + "." + forge.signature
            },
            forged("payload-json-array", expect: .tokenMalformed) { forge, _ in
                forge.signedByAttacker(header: forge.headerJSON, payload: "[" + forge.claimsJSON + "]")
            },
            AttackCase("forgery", "64-kib-token-is-a-client-error") { context in
                let browser = context.browser()
                let response = try await context.redeem(browser, token: String(repeating: "A", count: 64 * 1024))
                let health = try await browser.get(context.dashboard + "/healthz")
                return .check(
                    (400..<500).contains(response.status) && health.status == 200,
                    "answered \(response.status) \(response.batonError ?? ""); /healthz then \(health.status)")
            },
        ]
}

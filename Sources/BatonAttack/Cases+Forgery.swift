import AsyncHTTPClient
import BatonCore
import Foundation

extension AttackSuite {
    /// A case that crafts a token from a fresh real one and expects it refused with
    /// one of `codes`: the code of each fault the token has (PROTOCOL.md: "A token
    /// with several faults may be refused for any one of them ... as long as it is
    /// refused and nothing is burned"). Then the real token must still redeem: the
    /// forgery, which mostly carries the real jti, burned nothing.
    static func forged(
        _ name: String, oneOf codes: [BatonError], _ craft: @escaping @Sendable (TokenForge, AttackContext) async throws -> String
    ) -> AttackCase {
        AttackCase("forgery", name) { context in
            let (browser, callback, token) = try await context.freshToken()
            guard let forge = TokenForge(token: token) else { return .fail("the login host's token is not a compact JWS") }
            let state = await context.stateCookie(browser)
            let crafted = try await craft(forge, context)
            let refusal = context.refused(try await context.redeem(browser, token: crafted), oneOf: codes)
            guard refusal.passed else { return refusal }
            let real = try await context.redeemAfterRefusal(browser, callback: callback, state: state)
            let (unburned, what) = context.unburned(real)
            return .check(unburned, refusal.detail + "; the real token then " + what)
        }
    }

    /// An oversized request's answer: a refusal (4xx, from the relying party or from
    /// the server's own header limit, which PROTOCOL.md leaves to the server) or a
    /// connection closed without an answer. Never a session, never a 5xx.
    static func oversized(_ context: AttackContext, _ browser: Browser, token: String) async throws -> Verdict {
        let answer: String
        var acceptable: Bool
        do {
            let response = try await context.redeem(browser, token: token)
            answer = "answered \(response.answer)"
            acceptable = (400..<500).contains(response.status) && !context.redeemed(response)
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            return .fail("no answer within the client's timeout (\(error))")
        } catch {
            answer = "closed the connection (\(error))"
            acceptable = true
        }
        let health = try await context.browser().get(context.dashboard + "/healthz")
        acceptable = acceptable && health.status == 200
        return .check(acceptable, "\(answer); /healthz then \(health.status)")
    }

    /// The real header with members replaced, as JSON text.
    static func header(_ forge: TokenForge, _ members: String) -> String {
        #"{"alg":"\#(forge.alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"\#(members)}"#
    }

    static var forgeryCases: [AttackCase] {
        algorithmCases + signatureCases + headerParameterCases + typeCases + claimCases + encodingCases
    }

    // Each case lists the faults of the token it sends, by their codes. A token signed
    // by the attacker's key under the real kid always has a bad signature besides.

    static let algorithmCases: [AttackCase] =
        ["none", "None", "NONE", "nOnE"].flatMap { alg in
            [
                // No signature at all, and an algorithm that is not the pinned one.
                forged("alg-\(alg)-unsigned", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, _ in
                    forge.unsigned(header: #"{"alg":"\#(alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
                },
                // The real signature, but over the real header, not this one.
                forged("alg-\(alg)-with-signature", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, _ in
                    forge.unsigned(
                        header: #"{"alg":"\#(alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON,
                        signature: forge.signature)
                },
            ]
        } + [
            // An HMAC is no Ed25519 signature: a wrong algorithm and a bad signature.
            forged("hs256-keyed-with-public-key-bytes", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, context in
                forge.hmac(alg: "HS256", key: try await context.publicKey().raw)
            },
            forged("hs256-keyed-with-public-key-pem", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, context in
                let raw = try await context.publicKey().raw
                let der: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00] + raw
                let pem = "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
                return forge.hmac(alg: "HS256", key: Array(pem.utf8))
            },
            forged("hs256-keyed-with-public-jwk-text", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, context in
                forge.hmac(alg: "HS256", key: Array(try await context.publicKey().jwk.utf8))
            },
            forged("hs384-keyed-with-public-key", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, context in
                forge.hmac(alg: "HS384", key: try await context.publicKey().raw)
            },
            forged("hs512-keyed-with-public-key", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, context in
                forge.hmac(alg: "HS512", key: try await context.publicKey().raw)
            },
        ] + ["RS256", "ES256", "PS256", "Ed25519", "eddsa", ""].map { alg in
            // The real signature over the real header: wrong algorithm, bad signature. Against a
            // deployment pinned to the listed algorithm, the other of EdDSA and ES256 stands in:
            // the real token is never sent as a forgery.
            forged("alg-\(alg.isEmpty ? "empty" : alg)", oneOf: [.tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, _ in
                let wrong = alg != forge.alg ? alg : (forge.alg == "ES256" ? "EdDSA" : "ES256")
                return forge.unsigned(
                    header: #"{"alg":"\#(wrong)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON,
                    signature: forge.signature)
            }
        }

    static let signatureCases: [AttackCase] = [
            // The real header and claims: the signature is the only fault.
            forged("empty-signature", oneOf: [.tokenInvalidSignature]) { forge, _ in forge.header + "." + forge.payload + "." },
            forged("tampered-payload", oneOf: [.tokenInvalidSignature]) { forge, _ in
                let payload = forge.claims(replacing: ["sid": "\"\(Secrets.random(bytes: 18))\""])
                return forge.header + "." + Base64URL.encode(Array(payload.utf8)) + "." + forge.signature
            },
            forged("another-tokens-signature", oneOf: [.tokenInvalidSignature]) { forge, context in
                let (_, _, other) = try await context.freshToken()
                return forge.header + "." + forge.payload + "." + (TokenForge(token: other)?.signature ?? "")
            },
            forged("ed25519-signature-with-L-added-to-S", oneOf: [.tokenInvalidSignature]) { forge, _ in
                forge.malleated() ?? ""
            },
            forged("truncated-signature", oneOf: [.tokenInvalidSignature]) { forge, _ in
                forge.header + "." + forge.payload + "." + String(forge.signature.prefix(40))
            },
            forged("attacker-key-with-real-kid", oneOf: [.tokenInvalidSignature]) { forge, _ in
                forge.signedByAttacker(header: forge.headerJSON, payload: forge.claimsJSON)
            },
            // A kid the key set lacks is the one fault: there is no key to call the
            // signature bad against.
            forged("attacker-key-with-own-kid", oneOf: [.tokenUnknownKey]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","kid":"attacker-key-1","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-missing", oneOf: [.tokenUnknownKey]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-path-traversal", oneOf: [.tokenUnknownKey]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","kid":"../../../../etc/passwd","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("kid-sql-injection", oneOf: [.tokenUnknownKey]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","kid":"x' OR '1'='1","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            AttackCase("forgery", "kid-100-kb-is-a-client-error") { context in
                let (browser, _, token) = try await context.freshToken()
                guard let forge = TokenForge(token: token) else { return .fail("unreadable token") }
                let crafted = forge.signedByAttacker(
                    header: #"{"alg":"\#(forge.alg)","kid":"\#(String(repeating: "k", count: 100_000))","typ":"handoff+jwt"}"#,
                    payload: forge.claimsJSON)
                return try await oversized(context, browser, token: crafted)
            },
        ]

    /// Header parameters PROTOCOL.md forbids; `LISTENER` is replaced by the URL of a
    /// listener that counts connections, `ATTACKER` by the attacker's public key.
    static let forbiddenHeaderParameters: [(name: String, members: String)] = [
        ("jku", #","jku":"LISTENER/jwks.json""#), ("x5u", #","x5u":"LISTENER/cert.pem""#),
        ("x5c", #","x5c":["MIIBszCCAVmgAwIBAgIUQ"]"#), ("jwk", #","jwk":{"kty":"OKP","crv":"Ed25519","x":"ATTACKER"}"#),
        ("crit", #","crit":["exp"]"#), ("b64-false", #","b64":false,"crit":["b64"]"#), ("cty-JWT", #","cty":"JWT""#),
        ("unknown-header-parameter", #","zip":"DEF""#),
    ]

    static let headerParameterCases: [AttackCase] =
        forbiddenHeaderParameters.map { name, members in
            // A forbidden header parameter, and the attacker's signature under the real kid.
            forged("header-\(name)", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, context in
                let listener = try await context.outboundListener()
                let attackerX = Base64URL.encode(forge.attackerKey.publicKey.rawRepresentation)
                let extra = members.replacingOccurrences(of: "LISTENER", with: listener.url).replacingOccurrences(of: "ATTACKER", with: attackerX)
                return forge.signedByAttacker(header: header(forge, extra), payload: forge.claimsJSON)
            }
        } + [
            AttackCase("forgery", "no-outbound-fetch-for-jku-or-x5u") { context in
                let listener = try await context.outboundListener()
                // Its own tokens, so that the count means something however the suite is
                // run: jku and x5u at the listener, with the real kid and with an unknown
                // one (which tempts a relying party to go looking for the key).
                let variants = [
                    ("jku", "real", [BatonError.tokenMalformed, .tokenInvalidSignature]), ("jku", "attacker", [.tokenMalformed, .tokenUnknownKey]),
                    ("x5u", "real", [.tokenMalformed, .tokenInvalidSignature]), ("x5u", "attacker", [.tokenMalformed, .tokenUnknownKey]),
                ]
                var answers: [String] = []
                for (parameter, kid, codes) in variants {
                    let (browser, _, token) = try await context.freshToken()
                    guard let forge = TokenForge(token: token) else { return .fail("unreadable token") }
                    let keyID = kid == "real" ? (forge.kid ?? "") : "attacker-key-\(Secrets.random(bytes: 6))"
                    let crafted = forge.signedByAttacker(
                        header: #"{"alg":"\#(forge.alg)","kid":"\#(keyID)","typ":"handoff+jwt","\#(parameter)":"\#(listener.url)/\#(parameter).json"}"#,
                        payload: forge.claimsJSON)
                    let refusal = context.refused(try await context.redeem(browser, token: crafted), oneOf: codes)
                    guard refusal.passed else { return .fail("\(parameter) with the \(kid) kid: " + refusal.detail) }
                    answers.append("\(parameter)/\(kid) kid " + refusal.detail.replacingOccurrences(of: "refused with ", with: ""))
                }
                // A fetch may be started after the answer: give it a moment to arrive.
                try await Task.sleep(for: .seconds(1))
                return .check(
                    listener.connections == 0,
                    "\(answers.count) tokens naming \(listener.url) refused (\(answers.joined(separator: "; "))); \(listener.connections) connection(s) reached it")
            }
        ]

    static let typeCases: [AttackCase] = ["JWT", "jwt", "logout+jwt", "application/handoff+jwt", "handoff+JWT"].map { typ in
            forged("typ-\(typ.replacingOccurrences(of: "/", with: "-"))", oneOf: [.tokenWrongType, .tokenInvalidSignature]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","kid":"\#(forge.kid ?? "")","typ":"\#(typ)"}"#, payload: forge.claimsJSON)
            }
        } + [
            forged("typ-missing", oneOf: [.tokenWrongType, .tokenInvalidSignature]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"\#(forge.alg)","kid":"\#(forge.kid ?? "")"}"#, payload: forge.claimsJSON)
            },
            // Duplicate keys are malformed; a parser that keeps the first sees `none`,
            // one that keeps the last sees a bad signature.
            forged("duplicate-alg-in-header", oneOf: [.tokenMalformed, .tokenUnsupportedAlg, .tokenInvalidSignature]) { forge, _ in
                forge.signedByAttacker(header: #"{"alg":"none","alg":"\#(forge.alg)","kid":"\#(forge.kid ?? "")","typ":"handoff+jwt"}"#, payload: forge.claimsJSON)
            },
            forged("duplicate-aud-in-claims", oneOf: [.tokenMalformed, .tokenInvalidSignature, .tokenWrongAudience]) { forge, _ in
                let claims = forge.claimsJSON.dropLast() + #","aud":"\#(forge.claim("aud") ?? "")-other"}"#
                return forge.signedByAttacker(header: forge.headerJSON, payload: String(claims))
            },
            forged("duplicate-sid-in-claims", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                let claims = forge.claimsJSON.dropLast() + #","sid":"someone-else"}"#
                return forge.signedByAttacker(header: forge.headerJSON, payload: String(claims))
            },
        ]

    /// Claims of the wrong type, missing or extra (`token_malformed`), signed by the
    /// attacker (`token_invalid_signature`), with any further fault their values have.
    /// `AUD` stands for the real audience: an array holding it is still no string.
    static let claimFaults: [(name: String, changes: [String: String?], further: [BatonError])] = [
            ("iat-as-string", ["iat": "\"1700000000\""], []), ("exp-as-string", ["exp": "\"9999999999\""], []),
            ("exp-as-float", ["exp": "9999999999.5"], [.tokenLifetimeTooLong]), ("exp-as-bool", ["exp": "true"], []),
            ("exp-as-null", ["exp": "null"], []), ("exp-1e308", ["exp": "1e308"], [.tokenLifetimeTooLong]),
            ("iat-1e308", ["iat": "1e308"], [.tokenNotYetValid]),
            // An integer, so of the right type: long expired, and before its own iat (no
            // lifetime at all, which has no code of its own).
            ("exp-negative", ["exp": "-1"], [.tokenExpired]),
            ("aud-as-array", ["aud": "[\"AUD\"]"], [.tokenWrongAudience]), ("aud-as-number", ["aud": "1"], [.tokenWrongAudience]),
            ("sid-as-object", ["sid": "{}"], []), ("jti-as-number", ["jti": "12345678901234567890"], []),
            ("jti-too-short", ["jti": "\"short\""], []), ("missing-jti", ["jti": nil], []), ("missing-nonce", ["nonce": nil], []),
            ("missing-exp", ["exp": nil], []), ("extra-claim-email", ["email": "\"alice@example.com\""], []),
        ]

    static let claimCases: [AttackCase] = claimFaults.map { name, changes, further in
            forged("claim-\(name)", oneOf: [.tokenMalformed, .tokenInvalidSignature] + further) { forge, _ in
                let values = changes.mapValues { $0?.replacingOccurrences(of: "AUD", with: forge.claim("aud") ?? "") }
                return forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: values))
            }
        }

    static let encodingCases: [AttackCase] = [
            // Signed by an attacker: a bad signature besides the times.
            forged("lifetime-over-the-cap", oneOf: [.tokenLifetimeTooLong, .tokenInvalidSignature]) { forge, _ in
                let iat = Int64(Date().timeIntervalSince1970)
                return forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: ["iat": "\(iat)", "exp": "\(iat + 3600)"]))
            },
            forged("iat-in-the-future", oneOf: [.tokenNotYetValid, .tokenInvalidSignature]) { forge, _ in
                let iat = Int64(Date().timeIntervalSince1970) + 3600
                return forge.signedByAttacker(header: forge.headerJSON, payload: forge.claims(replacing: ["iat": "\(iat)", "exp": "\(iat + 10)"]))
            },
            // Not strict base64url, and (since the signing input is the text as sent) a
            // signature that no longer matches it.
            forged("padding-in-a-part", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                forge.header + "==." + forge.payload + "." + forge.signature
            },
            forged("whitespace-in-a-part", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                forge.header + "." + forge.payload.prefix(10) + "%20" + forge.payload.dropFirst(10) + "." + forge.signature
            },
            forged("plus-and-slash-in-a-part", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                // Always a `+` and a `/` (percent-encoded in the query), whatever the signature's bytes.
                forge.header + "." + forge.payload + "." + "%2B%2F" + forge.signature.dropFirst(2)
            },
            // The same signature bytes in standard base64: only the encoding is wrong,
            // so a lenient decoder would accept it.
            forged("standard-base64-signature", oneOf: [.tokenMalformed]) { forge, _ in
                let bytes = Base64URL.decode(forge.signature) ?? []
                let standard = Data(bytes).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                return forge.header + "." + forge.payload + "." + standard
            },
            forged("jws-json-serialization", oneOf: [.tokenMalformed]) { forge, _ in
                let json = #"{"protected":"\#(forge.header)","payload":"\#(forge.payload)","signature":"\#(forge.signature)"}"#
                return json.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            },
            forged("five-part-jwe", oneOf: [.tokenMalformed]) { forge, _ in
                let header = Base64URL.encode(Array(#"{"alg":"dir","enc":"A256GCM","kid":"\#(forge.kid ?? "")"}"#.utf8))
                return header + ".." + Base64URL.encode(Array(repeating: 1, count: 12)) + "." + forge.payload + "." + Base64URL.encode(Array(repeating: 2, count: 16))
            },
            forged("four-parts", oneOf: [.tokenMalformed]) { forge, _ in forge.header + "." + forge.payload + "." + forge.signature + "." },
            forged("two-parts", oneOf: [.tokenMalformed]) { forge, _ in forge.header + "." + forge.payload },
            // `token=` with nothing after it: PROTOCOL.md's "no token parameter" may be
            // read to cover an empty one.
            forged("empty-token-parameter", oneOf: [.tokenMalformed, .tokenMissing]) { _, _ in "" },
            // The signature covers the header part as sent, so it no longer verifies.
            forged("header-not-json", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                Base64URL.encode(Array("not json".utf8)) + "." + forge.payload + "." + forge.signature
            },
            forged("payload-json-array", oneOf: [.tokenMalformed, .tokenInvalidSignature]) { forge, _ in
                forge.signedByAttacker(header: forge.headerJSON, payload: "[" + forge.claimsJSON + "]")
            },
            AttackCase("forgery", "64-kib-token-is-a-client-error") { context in
                try await oversized(context, context.browser(), token: String(repeating: "A", count: 64 * 1024))
            },
        ]
}

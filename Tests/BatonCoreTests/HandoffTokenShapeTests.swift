import Crypto
import Foundation
import Testing

@testable import BatonCore

/// `token_malformed`: everything that is not three strict base64url parts of
/// duplicate-free JSON objects with exactly the allowed header parameters and claims.
@Suite("HandoffVerifier: token_malformed")
struct HandoffTokenShapeTests {
    @Test("the fixture's well-formed token verifies, so each refusal below is the variation's doing")
    func baselineVerifies() async throws {
        let f = try await VerifierFixture()
        let claims = try await f.verifier.verify(try f.signed())
        #expect(claims.aud == "dashboard")
        #expect(claims.iss == VerifierFixture.issuer)
    }

    // MARK: Structure

    @Test("not exactly three parts: two, four, a five-part JWE, none")
    func wrongNumberOfParts() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let jwe = TokenForge.part(#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#) + ".AAAA.AAAA.AAAA.AAAA"
        for token in [
            p.header + "." + p.payload,
            p.token + "." + p.signature,
            p.token + ".",
            jwe,
            p.header, p.header + p.payload + p.signature,
        ] {
            #expect(await f.refusal(token) == .tokenMalformed, "\(token.prefix(40))")
        }
    }

    @Test("empty parts")
    func emptyParts() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        for token in ["", ".", "..", "...", "." + p.payload + "." + p.signature, p.header + ".." + p.signature, ".." + p.signature] {
            #expect(await f.refusal(token) == .tokenMalformed, "\(token.prefix(40))")
        }
    }

    @Test("padding, whitespace, '+' or '/' anywhere in a part")
    func nonStrictBase64() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        func replacingFirst(_ part: String, with character: Character) -> String {
            String(character) + part.dropFirst()
        }
        func inserting(_ text: String, into part: String) -> String {
            let middle = part.index(part.startIndex, offsetBy: part.count / 2)
            return String(part[..<middle]) + text + String(part[middle...])
        }
        // The signature re-encoded in the standard, padded alphabet (64 bytes: always "==").
        let standardSignature = try #require(Base64URL.decode(p.signature).map { Data($0).base64EncodedString() })
        #expect(standardSignature.hasSuffix("=="))
        var tokens = [
            p.signingInput + "." + standardSignature,
            p.signingInput + "." + p.signature + "==",
            p.header + "=." + p.payload + "." + p.signature,
            p.header + "." + p.payload + "=." + p.signature,
            " " + p.token, p.token + " ", p.token + "\n", "\t" + p.token, p.token + "\r\n",
        ]
        for spoiler in [" ", "\n", "\t", "\r", "=", "%3D", "+", "/", "\u{0}", "\u{e9}", "!"] {
            tokens.append(inserting(spoiler, into: p.header) + "." + p.payload + "." + p.signature)
            tokens.append(p.header + "." + inserting(spoiler, into: p.payload) + "." + p.signature)
            tokens.append(p.signingInput + "." + inserting(spoiler, into: p.signature))
        }
        for character: Character in ["+", "/"] {
            tokens.append(replacingFirst(p.header, with: character) + "." + p.payload + "." + p.signature)
            tokens.append(p.header + "." + replacingFirst(p.payload, with: character) + "." + p.signature)
            tokens.append(p.signingInput + "." + replacingFirst(p.signature, with: character))
        }
        for token in tokens {
            #expect(await f.refusal(token) == .tokenMalformed, "\(token.debugDescription.prefix(60))")
        }
    }

    @Test("a part whose last character carries non-zero stray bits")
    func strayBitsInPart() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        // 64 signature bytes end in a 2-character group whose low 4 bits must be zero.
        let last = try #require(p.signature.last)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let value = try #require(alphabet.firstIndex(of: last))
        let stray = alphabet[value | 0x01]
        #expect(stray != last)
        let token = p.signingInput + "." + p.signature.dropLast() + String(stray)
        #expect(await f.refusal(token) == .tokenMalformed)
    }

    @Test("the JWS JSON serialization, general and flattened")
    func jsonSerialization() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let flattened = #"{"payload":"\#(p.payload)","protected":"\#(p.header)","signature":"\#(p.signature)"}"#
        let general = #"{"payload":"\#(p.payload)","signatures":[{"protected":"\#(p.header)","signature":"\#(p.signature)"}]}"#
        for token in [flattened, general, TokenForge.part(flattened)] {
            #expect(await f.refusal(token) == .tokenMalformed)
        }
    }

    @Test("a token longer than CompactJWS.maximumLength is refused unread, one at the limit is not")
    func lengthCap() async throws {
        let f = try await VerifierFixture()
        let claims = f.claims()
        // JSON whitespace pads the payload without changing its meaning.
        func token(padding: Int) throws -> String {
            let padded = String(claims.dropLast()) + String(repeating: " ", count: padding) + "}"
            return try f.signed(payload: padded)
        }
        // Each padding byte adds 4/3 of a character: start a little below the limit.
        let unpadded = try token(padding: 0).utf8.count
        var padding = max(0, (CompactJWS.maximumLength - unpadded) * 3 / 4 - 8)
        while try token(padding: padding + 1).utf8.count <= CompactJWS.maximumLength { padding += 1 }
        let atLimit = try token(padding: padding)
        let overLimit = try token(padding: padding + 1)
        #expect(atLimit.utf8.count <= CompactJWS.maximumLength)
        #expect(atLimit.utf8.count >= CompactJWS.maximumLength - 3)
        #expect(overLimit.utf8.count > CompactJWS.maximumLength)
        #expect(await f.refusal(atLimit) == nil)
        #expect(await f.refusal(overLimit) == .tokenMalformed)
        #expect(await f.refusal(try token(padding: 100_000)) == .tokenMalformed)
    }

    // MARK: Header

    @Test(
        "a header that is not a JSON object",
        arguments: ["[]", #"["EdDSA"]"#, #""EdDSA""#, "null", "true", "1", "{", " ", #"{"alg":"EdDSA"} x"#, #"{"alg":"EdDSA","kid":"KID","typ":"handoff+jwt"}{}"#])
    func headerNotAnObject(header: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: f.expand(header))) == .tokenMalformed)
    }

    @Test(
        "a header with a parameter other than alg, kid and typ",
        arguments: [
            #""jku":"https://evil.example/jwks.json""#,
            #""x5u":"https://evil.example/cert.pem""#,
            #""x5c":["MIIBszCCAVmgAwIBAgIUX"]"#,
            #""x5c":"MIIBszCCAVmgAwIBAgIUX""#,
            #""x5t":"abc""#,
            #""x5t#S256":"abc""#,
            #""jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
            #""jwk":"{}""#,
            #""crit":["exp"]"#,
            #""crit":"b64""#,
            #""b64":false"#,
            #""b64":"false""#,
            #""cty":"JWT""#,
            #""zip":"DEF""#,
            #""enc":"A256GCM""#,
            #""nonce":"x""#,
            #""foo":"bar""#,
            #""ALG":"none""#,
            #""Kid":"x""#,
            #""":"""#,
        ])
    func headerExtraParameter(member: String) async throws {
        let f = try await VerifierFixture()
        let after = f.expand(#"{"alg":"EdDSA","kid":"KID","typ":"handoff+jwt",\#(member)}"#)
        let before = f.expand(#"{\#(member),"alg":"EdDSA","kid":"KID","typ":"handoff+jwt"}"#)
        #expect(await f.refusal(try f.signed(header: after)) == .tokenMalformed)
        #expect(await f.refusal(try f.signed(header: before)) == .tokenMalformed)
    }

    @Test(
        "a header value that is not a string, or a missing alg",
        arguments: [
            #"{"alg":["EdDSA"],"kid":"KID","typ":"handoff+jwt"}"#,
            #"{"alg":null,"kid":"KID","typ":"handoff+jwt"}"#,
            #"{"alg":1,"kid":"KID","typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":5,"typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":null,"typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":["KID"],"typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":"KID","typ":null}"#,
            #"{"alg":"EdDSA","kid":"KID","typ":true}"#,
            #"{"alg":"EdDSA","kid":"KID","typ":{}}"#,
            #"{"kid":"KID","typ":"handoff+jwt"}"#,
            #"{}"#,
        ])
    func headerWrongTypes(header: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: f.expand(header))) == .tokenMalformed)
    }

    @Test(
        "a header with a duplicate key, whichever copy a lenient parser would keep",
        arguments: [
            #"{"alg":"EdDSA","alg":"none","kid":"KID","typ":"handoff+jwt"}"#,
            #"{"alg":"none","alg":"EdDSA","kid":"KID","typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":"KID","kid":"other","typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":"KID","typ":"handoff+jwt","typ":"handoff+jwt"}"#,
            #"{"alg":"EdDSA","kid":"KID","typ":"handoff+jwt","al\u0067":"HS256"}"#,
        ])
    func headerDuplicateKey(header: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: f.expand(header))) == .tokenMalformed)
    }

    // MARK: Payload

    @Test(
        "a payload that is not a JSON object",
        arguments: ["[]", #""x""#, "true", "null", "42", "{", " "])
    func payloadNotAnObject(payload: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: payload)) == .tokenMalformed)
    }

    @Test("a payload with trailing data after the object")
    func payloadTrailingData() async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims() + "{}")) == .tokenMalformed)
        #expect(await f.refusal(try f.signed(payload: f.claims() + " x")) == .tokenMalformed)
    }

    @Test("a payload with a duplicate claim, whichever copy a lenient parser would keep")
    func payloadDuplicateKey() async throws {
        let f = try await VerifierFixture()
        for extra in [("aud", q("reports")), ("aud", q("dashboard")), ("iss", q("http://evil.example")), ("exp", "\(f.now + 3600)"), ("jti", q(Secrets.random(bytes: 18)))] {
            #expect(await f.refusal(try f.signed(payload: f.claims(extra: [extra]))) == .tokenMalformed, "\(extra.0)")
        }
        // The duplicate first, the expected value last.
        let payload = #"{"aud":"reports","# + f.claims().dropFirst()
        #expect(await f.refusal(try f.signed(payload: String(payload))) == .tokenMalformed)
    }

    @Test("a nested duplicate key inside a claim value")
    func payloadNestedDuplicate() async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims(["aud": #"{"a":1,"a":2}"#]))) == .tokenMalformed)
    }

    @Test("a missing claim", arguments: ["iss", "aud", "sid", "jti", "iat", "exp", "nonce"])
    func missingClaim(name: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims([name: nil]))) == .tokenMalformed)
    }

    @Test(
        "an extra claim",
        arguments: [
            ("sub", q("alice")), ("username", q("alice")), ("email", q("alice@example.com")), ("role", q("admin")),
            ("amr", #"["pwd"]"#), ("azp", q("dashboard")), ("auth_time", "1750000000"), ("cnf", "{}"), ("x", "null"),
        ])
    func extraClaim(name: String, value: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims(extra: [(name, value)]))) == .tokenMalformed)
    }

    @Test("nbf is the one optional claim")
    func nbfIsAllowed() async throws {
        let f = try await VerifierFixture()
        let claims = try await f.verifier.verify(try f.signed(payload: f.claims(extra: [("nbf", "\(f.now)")])))
        #expect(claims.nbf == f.now)
    }

    @Test(
        "a time claim that is not a plain non-negative integer",
        arguments: [
            #""1750000000""#, "1.5", "1750000000.0", "1750000000.5", "1.75e9", "1e308", "-1e308", "true", "false", "null",
            "[1750000000]", "{}", "-1", "9007199254740993", "99999999999999999999",
        ])
    func timeClaimTypeConfusion(value: String) async throws {
        let f = try await VerifierFixture()
        for name in ["iat", "exp"] {
            #expect(await f.refusal(try f.signed(payload: f.claims([name: value]))) == .tokenMalformed, "\(name)=\(value)")
        }
        #expect(await f.refusal(try f.signed(payload: f.claims(extra: [("nbf", value)]))) == .tokenMalformed, "nbf=\(value)")
    }

    @Test(
        "a string claim that is not a non-empty string",
        arguments: [
            ("aud", #"["dashboard"]"#), ("aud", #"["dashboard","reports"]"#), ("aud", "null"), ("aud", q("")),
            ("iss", "1"), ("iss", #"["http://login.localhost:8080"]"#), ("iss", "{}"), ("iss", q("")),
            ("sid", "null"), ("sid", "true"), ("sid", "12"), ("sid", q("")), ("sid", q(String(repeating: "s", count: 513))),
            ("jti", "123"), ("jti", "null"), ("nonce", "{}"), ("nonce", "false"),
        ])
    func stringClaimTypeConfusion(name: String, value: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims([name: value]))) == .tokenMalformed)
    }

    @Test("a jti shorter than 22 characters, longer than 128, or outside base64url")
    func badJTI() async throws {
        let f = try await VerifierFixture()
        let ok22 = String(repeating: "A", count: 22)
        #expect(await f.refusal(try f.signed(payload: f.claims(["jti": q(ok22)]))) == nil)
        for jti in [String(repeating: "A", count: 21), "A", String(repeating: "A", count: 129), "AAAAAAAAAAAAAAAAAAAAA+", "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA AA", "AAAAAAAAAAAAAAAAAAAAA.A"] {
            #expect(await f.refusal(try f.signed(payload: f.claims(["jti": q(jti)]))) == .tokenMalformed, "\(jti)")
        }
    }

    @Test("a nonce that is not 43 base64url characters")
    func badNonce() async throws {
        let f = try await VerifierFixture()
        let nonce = HandoffClaims.nonce(forState: VerifierFixture.state)
        #expect(nonce.count == 43)
        for bad in [String(nonce.dropLast()), nonce + "A", nonce + "=", String(nonce.dropLast()) + "+", String(nonce.dropLast()) + "/", "x", Data(SHA256.hash(data: Array(VerifierFixture.state.utf8))).base64EncodedString()] {
            #expect(await f.refusal(try f.signed(payload: f.claims(["nonce": q(bad)]))) == .tokenMalformed, "\(bad)")
        }
    }

    @Test("exp at or before iat is a token that was never valid")
    func expNotAfterIat() async throws {
        let f = try await VerifierFixture()
        for exp in [f.now, f.now - 1, 0] {
            #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(exp)"]))) == .tokenMalformed, "exp \(exp)")
        }
    }

    @Test("two copies of a token joined together")
    func concatenatedTokens() async throws {
        let f = try await VerifierFixture()
        let a = try f.signed()
        let b = try f.signed()
        #expect(await f.refusal(a + b) == .tokenMalformed)
        #expect(await f.refusal(a + "." + b) == .tokenMalformed)
        #expect(await f.refusal(a + "&token=" + b) == .tokenMalformed)
    }
}


import Foundation
import Testing

@testable import BatonCore

/// `token_unknown_key`: only a key in the trusted set, named by `kid`, ever verifies;
/// a kid is an opaque lookup key, never a path, a query or a URL.
@Suite("HandoffVerifier: token_unknown_key")
struct HandoffKeySelectionTests {
    private func header(kid: String?) -> String {
        var members = [#""alg":"EdDSA""#]
        if let kid { members.append(#""kid":\#(q(kid))"#) }
        members.append(#""typ":"handoff+jwt""#)
        return "{" + members.joined(separator: ",") + "}"
    }

    @Test("kid missing, even though the only trusted key would verify the signature")
    func kidMissing() async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: header(kid: nil))) == .tokenUnknownKey)
    }

    @Test(
        "kid not in the set, including path traversal, SQL and URLs",
        arguments: [
            "", "unknown", "../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "' OR 1=1 --", "\" OR \"\"=\"",
            "1; DROP TABLE used_tokens", "https://evil.example/jwks.json", "*", "%", "null", "0",
            String(repeating: "k", count: 200),
        ])
    func kidNotInSet(kid: String) async throws {
        let f = try await VerifierFixture()
        let header = self.header(kid: kid.replacingOccurrences(of: "\"", with: "\\\""))
        #expect(await f.refusal(try f.signed(header: header)) == .tokenUnknownKey)
    }

    @Test("a kid that differs from the real one by case, a space or a suffix")
    func kidNearMisses() async throws {
        let f = try await VerifierFixture()
        let real = f.issuerKey.kid
        for kid in [real.lowercased(), real.uppercased(), real + " ", " " + real, real + "x", String(real.dropLast()), real + "\\u0000"] where kid != real {
            #expect(await f.refusal(try f.signed(header: header(kid: kid))) == .tokenUnknownKey, "\(kid)")
        }
    }

    @Test("a 100 KB kid is refused unread by the length cap (token_malformed)")
    func hugeKid() async throws {
        let f = try await VerifierFixture()
        let token = try f.signed(header: header(kid: String(repeating: "A", count: 100_000)))
        #expect(token.utf8.count > CompactJWS.maximumLength)
        #expect(await f.refusal(token) == .tokenMalformed)
    }

    @Test("a token signed by an attacker's key under the attacker's own kid")
    func attackerKeyOwnKid() async throws {
        let f = try await VerifierFixture()
        #expect(f.attackerKey.kid != f.issuerKey.kid)
        let token = try f.attackerKey.token(header: header(kid: f.attackerKey.kid), payload: f.claims())
        #expect(await f.refusal(token) == .tokenUnknownKey)
    }

    @Test("a token signed by an attacker's key carrying the REAL kid is token_invalid_signature")
    func attackerKeyRealKid() async throws {
        let f = try await VerifierFixture()
        let token = try f.attackerKey.token(header: header(kid: f.issuerKey.kid), payload: f.claims())
        #expect(await f.refusal(token) == .tokenInvalidSignature)
    }

    @Test("with two trusted keys, a token verifies only under its own kid, never another key's")
    func kidSelectsExactlyOneKey() async throws {
        let f = try await VerifierFixture()
        let second = try TokenForge(seedByte: 0x22)
        let keys = try await TrustedKeySet(
            fixed: JWKSDocument(keys: [f.issuerKey.signingKey.publicJWK, second.signingKey.publicJWK]), clock: f.clock)
        let verifier = HandoffVerifier(issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: keys, clock: f.clock)
        let good = try second.token(header: header(kid: second.kid), payload: f.claims())
        #expect(try await verifier.verify(good).aud == "dashboard")
        let swapped = try second.token(header: header(kid: f.issuerKey.kid), payload: f.claims())
        await #expect(throws: BatonError.tokenInvalidSignature) { try await verifier.verify(swapped) }
        let noKid = try second.token(header: header(kid: nil), payload: f.claims())
        await #expect(throws: BatonError.tokenUnknownKey) { try await verifier.verify(noKid) }
    }
}

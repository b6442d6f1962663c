import Crypto
import Foundation
import Testing

@testable import BatonCore

/// ES256 as the configured alternative to EdDSA: the same verifier, the algorithm
/// pinned the other way, and the same refusals.
@Suite("TokenVerifier with ES256")
struct ES256VerifierTests {
    let base: VerifierFixture
    let issuerKey: ES256Forge
    let attackerKey: ES256Forge
    let keys: TrustedKeySet
    let verifier: HandoffVerifier

    init() async throws {
        base = try await VerifierFixture()
        issuerKey = try ES256Forge(scalarByte: 0x21)
        attackerKey = try ES256Forge(scalarByte: 0x67)
        keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [issuerKey.signingKey.publicJWK]), clock: base.clock)
        verifier = HandoffVerifier(
            issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: keys, clock: base.clock, algorithm: .es256)
    }

    func header(alg: String = "ES256", kid: String? = nil) -> String {
        #"{"alg":"\#(alg)","kid":"\#(kid ?? issuerKey.kid)","typ":"handoff+jwt"}"#
    }

    func signed(header: String? = nil, payload: String? = nil) throws -> String {
        try issuerKey.token(header: header ?? self.header(), payload: payload ?? base.claims())
    }

    func refusal(_ token: String, by verifier: HandoffVerifier? = nil) async -> BatonError? {
        do {
            _ = try await (verifier ?? self.verifier).verify(token)
            return nil
        } catch {
            return error
        }
    }

    @Test("a good ES256 token verifies, and a minted one carries alg ES256 and the P-256 key's kid")
    func goodToken() async throws {
        #expect(await refusal(try signed()) == nil)
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: issuerKey.signingKey, clock: base.clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid-1", state: VerifierFixture.state)
        let header = try #require(Base64URL.decode(try TokenParts(minted.token).header))
        let members = Dictionary(uniqueKeysWithValues: try StrictJSON.parseObject(header))
        #expect(members["alg"] == .string("ES256"))
        #expect(members["kid"] == .string(issuerKey.kid))
        #expect(try await verifier.verify(minted.token).jti == minted.jti)
        #expect(try #require(Base64URL.decode(try TokenParts(minted.token).signature)).count == 64)
    }

    @Test("a tampered payload is token_invalid_signature")
    func tamperedPayload() async throws {
        let p = try TokenParts(try signed())
        let forged = TokenForge.part(base.claims(["sid": q("sid-of-someone-else")]))
        #expect(await refusal(p.header + "." + forged + "." + p.signature) == .tokenInvalidSignature)
    }

    @Test("another token's signature, flipped bits, zeros and an attacker's key under the real kid are token_invalid_signature")
    func otherSignatures() async throws {
        let a = try TokenParts(try signed())
        let b = try TokenParts(try signed())
        #expect(await refusal(a.signingInput + "." + b.signature) == .tokenInvalidSignature)
        let real = try #require(Base64URL.decode(a.signature))
        for bit in stride(from: 0, to: 512, by: 37) {
            var bytes = real
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(await refusal(a.signingInput + "." + Base64URL.encode(bytes)) == .tokenInvalidSignature, "bit \(bit)")
        }
        #expect(await refusal(a.signingInput + "." + Base64URL.encode([UInt8](repeating: 0, count: 64))) == .tokenInvalidSignature)
        let stolenKid = try attackerKey.token(header: header(), payload: base.claims())
        #expect(await refusal(stolenKid) == .tokenInvalidSignature)
    }

    @Test("an ES256 signature must be the raw 64 bytes: DER, truncated, padded and empty ones are token_invalid_signature")
    func signatureShape() async throws {
        let p = try TokenParts(try signed())
        let input = p.signingInput
        let der = Array(try issuerKey.privateKey.signature(for: Data(input.utf8)).derRepresentation)
        #expect(der.count != 64)
        #expect(await refusal(input + "." + Base64URL.encode(der)) == .tokenInvalidSignature)
        let real = try #require(Base64URL.decode(p.signature))
        for bytes in [Array(real.prefix(63)), real + [0], Array(real.prefix(32)), []] {
            #expect(await refusal(input + "." + Base64URL.encode(bytes)) == .tokenInvalidSignature, "\(bytes.count) bytes")
        }
        #expect(SigningAlgorithm.es256.isWellFormedSignature(real))
        #expect(!SigningAlgorithm.es256.isWellFormedSignature(der))
    }

    @Test("the algorithm is pinned both ways: EdDSA at an ES256 relying party, ES256 at an EdDSA one, none and HS256")
    func algorithmMismatch() async throws {
        // A real EdDSA token from a trusted EdDSA key, at the ES256-pinned verifier.
        let both = try await TrustedKeySet(
            fixed: JWKSDocument(keys: [issuerKey.signingKey.publicJWK, base.issuerKey.signingKey.publicJWK]), clock: base.clock)
        let es256Verifier = HandoffVerifier(
            issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: both, clock: base.clock, algorithm: .es256)
        let eddsaVerifier = HandoffVerifier(
            issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: both, clock: base.clock, algorithm: .eddsa)
        let eddsaToken = try base.signed()
        let es256Token = try signed()
        #expect(await refusal(eddsaToken, by: eddsaVerifier) == nil)
        #expect(await refusal(es256Token, by: es256Verifier) == nil)
        #expect(await refusal(eddsaToken, by: es256Verifier) == .tokenUnsupportedAlg)
        #expect(await refusal(es256Token, by: eddsaVerifier) == .tokenUnsupportedAlg)
        for alg in ["none", "HS256", "es256", "ES384", "ES256K", "EdDSA"] {
            #expect(await refusal(try signed(header: header(alg: alg))) == .tokenUnsupportedAlg, "\(alg)")
        }
    }

    @Test("a key is used only with its own algorithm: an alg the verifier pins with another algorithm's kid is token_unknown_key")
    func keyBoundToItsAlgorithm() async throws {
        let both = try await TrustedKeySet(
            fixed: JWKSDocument(keys: [issuerKey.signingKey.publicJWK, base.issuerKey.signingKey.publicJWK]), clock: base.clock)
        let es256Verifier = HandoffVerifier(
            issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: both, clock: base.clock, algorithm: .es256)
        // alg ES256 naming the Ed25519 key's kid.
        let confused = try issuerKey.token(header: header(kid: base.issuerKey.kid), payload: base.claims())
        #expect(await refusal(confused, by: es256Verifier) == .tokenUnknownKey)
        #expect(await both.contains(kid: base.issuerKey.kid, algorithm: .eddsa))
        #expect(await !both.contains(kid: base.issuerKey.kid, algorithm: .es256))
    }

    @Test("an unknown or missing kid is token_unknown_key, even when the only trusted key would verify it")
    func unknownKid() async throws {
        #expect(await refusal(try attackerKey.token(header: header(kid: attackerKey.kid), payload: base.claims())) == .tokenUnknownKey)
        #expect(await refusal(try signed(header: header(kid: "unknown"))) == .tokenUnknownKey)
        let noKid = try signed(header: #"{"alg":"ES256","typ":"handoff+jwt"}"#)
        #expect(await refusal(noKid) == .tokenUnknownKey)
    }

    @Test("the claim checks apply as with EdDSA: audience, issuer, expiry")
    func claimChecks() async throws {
        #expect(await refusal(try signed(payload: base.claims(["aud": q("reports")]))) == .tokenWrongAudience)
        #expect(await refusal(try signed(payload: base.claims(["iss": q("http://evil.localhost")]))) == .tokenWrongIssuer)
        let token = try signed()
        base.clock.advance(by: 13)
        #expect(await refusal(token) == .tokenExpired)
    }
}

import Crypto
import Foundation
import Testing

@testable import BatonCore

/// `token_unsupported_alg`: the algorithm is pinned to EdDSA by configuration, and
/// nothing the token says can change that.
@Suite("HandoffVerifier: token_unsupported_alg")
struct HandoffAlgorithmPinningTests {
    @Test("alg none in every spelling, with an empty signature and with a real one", arguments: ["none", "None", "NONE", "nOnE"])
    func algNone(alg: String) async throws {
        let f = try await VerifierFixture()
        let header = TokenForge.part(f.header(alg: alg))
        let payload = TokenForge.part(f.claims())
        let input = header + "." + payload
        let realSignature = Base64URL.encode(try f.issuerKey.signature(over: input))
        #expect(await f.refusal(input + ".") == .tokenUnsupportedAlg)
        #expect(await f.refusal(input + "." + realSignature) == .tokenUnsupportedAlg)
        // Without kid or typ too: nothing else about the token matters.
        let bare = TokenForge.part(#"{"alg":"\#(alg)"}"#) + "." + payload + "."
        #expect(await f.refusal(bare) == .tokenUnsupportedAlg)
    }

    @Test("HS256 keyed with the trusted public key's bytes (the classic key confusion)")
    func hmacWithPublicKey() async throws {
        let f = try await VerifierFixture()
        let jwk = f.issuerKey.signingKey.publicJWK
        let rawPublicKey = try #require(Base64URL.decode(jwk.x))
        let jwksBytes = JWKSDocument(keys: [jwk]).jsonBytes()
        for (alg, secret) in [
            ("HS256", rawPublicKey), ("HS256", Array(jwk.x.utf8)), ("HS256", jwksBytes),
            ("HS384", rawPublicKey), ("HS512", rawPublicKey),
        ] {
            let input = TokenForge.part(f.header(alg: alg)) + "." + TokenForge.part(f.claims())
            let key = SymmetricKey(data: secret)
            let mac: [UInt8] =
                switch alg {
                case "HS384": Array(HMAC<SHA384>.authenticationCode(for: Array(input.utf8), using: key))
                case "HS512": Array(HMAC<SHA512>.authenticationCode(for: Array(input.utf8), using: key))
                default: Array(HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: key))
                }
            #expect(await f.refusal(input + "." + Base64URL.encode(mac)) == .tokenUnsupportedAlg, "\(alg)")
        }
    }

    @Test("ES256 with a real P-256 signature, RS256 and PS256")
    func otherAsymmetricAlgorithms() async throws {
        let f = try await VerifierFixture()
        let p256 = P256.Signing.PrivateKey()
        let esInput = TokenForge.part(f.header(alg: "ES256")) + "." + TokenForge.part(f.claims())
        let esSignature = try p256.signature(for: Array(esInput.utf8)).rawRepresentation
        #expect(await f.refusal(esInput + "." + Base64URL.encode(esSignature)) == .tokenUnsupportedAlg)
        for alg in ["RS256", "PS256", "ES384", "ES256K"] {
            let input = TokenForge.part(f.header(alg: alg)) + "." + TokenForge.part(f.claims())
            let fakeSignature = Base64URL.encode([UInt8](repeating: 0xab, count: 256))
            #expect(await f.refusal(input + "." + fakeSignature) == .tokenUnsupportedAlg, "\(alg)")
        }
    }

    @Test(
        "near misses of EdDSA, validly signed by the trusted key",
        arguments: ["eddsa", "EDDSA", "EdDSA ", " EdDSA", "Ed25519", "ed25519", "EdDSA\u{0}", "", "Ed448", "EdDS"])
    func nearMisses(alg: String) async throws {
        let f = try await VerifierFixture()
        let header = #"{"alg":"\#(alg)","kid":"\#(f.issuerKey.kid)","typ":"handoff+jwt"}"#
            .replacingOccurrences(of: "\u{0}", with: "\\u0000")
        #expect(await f.refusal(try f.signed(header: header)) == .tokenUnsupportedAlg)
    }

    @Test("the pinned algorithm is checked before the key: alg HS256 with an unknown kid is still unsupported_alg")
    func algBeforeKey() async throws {
        let f = try await VerifierFixture()
        let token = try f.signed(header: f.header(alg: "HS256", kid: "unknown-kid"))
        #expect(await f.refusal(token) == .tokenUnsupportedAlg)
    }
}

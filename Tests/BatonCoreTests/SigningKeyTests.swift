import Crypto
import Foundation
import Testing

@testable import BatonCore

/// Signing keys of both algorithms as the JWKS publishes them, and the JWKS as a
/// relying party reads it.
@Suite("Signing keys and the JWKS")
struct SigningKeyTests {
    @Test("an ES256 key is published as an EC P-256 JWK whose kid is its RFC 7638 thumbprint")
    func es256JWK() throws {
        let key = SigningKey(algorithm: .es256, createdAt: Date())
        let jwk = key.publicJWK
        #expect(jwk.kty == "EC")
        #expect(jwk.crv == "P-256")
        #expect(jwk.alg == "ES256")
        #expect(jwk.use == "sig")
        let x = try #require(Base64URL.decode(jwk.x))
        let y = try #require(jwk.y.flatMap { Base64URL.decode($0) })
        #expect(x.count == 32 && y.count == 32)
        // RFC 7638 §3.2: the required members crv, kty, x, y in this order, no spaces.
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(jwk.x)","y":"\#(jwk.y!)"}"#
        #expect(key.kid == Base64URL.encode(SHA256.hash(data: Data(canonical.utf8))))
        #expect(jwk.kid == key.kid)
        // The published point is the key's public half.
        guard case .p256(let privateKey) = key.material else { Issue.record("not a P-256 key"); return }
        #expect(Array(privateKey.publicKey.x963Representation) == [0x04] + x + y)
        let json = String(decoding: JWKSDocument(keys: [jwk]).jsonBytes(), as: UTF8.self)
        #expect(json.contains(#""kty":"EC""#) && json.contains(#""y":"#))
    }

    @Test("an Ed25519 key's JWK is unchanged: OKP, no y, thumbprint over crv, kty, x")
    func eddsaJWK() throws {
        let key = SigningKey(createdAt: Date())
        let json = String(decoding: JWKSDocument(keys: [key.publicJWK]).jsonBytes(), as: UTF8.self)
        #expect(json == #"{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"\#(key.kid)","kty":"OKP","use":"sig","x":"\#(key.publicJWK.x)"}]}"#)
        let canonical = #"{"crv":"Ed25519","kty":"OKP","x":"\#(key.publicJWK.x)"}"#
        #expect(key.kid == Base64URL.encode(SHA256.hash(data: Data(canonical.utf8))))
    }

    @Test("a JWKS with Ed25519 and P-256 keys reads back both; other kinds are skipped")
    func parsesBothKinds() throws {
        let eddsa = SigningKey(createdAt: Date()).publicJWK
        let es256 = SigningKey(algorithm: .es256, createdAt: Date()).publicJWK
        let document = try JWKSDocument(json: JWKSDocument(keys: [eddsa, es256]).jsonBytes())
        #expect(document.keys == [eddsa, es256])
        #expect(document.keys.map(\.algorithm) == [.eddsa, .es256])
        let others = #"""
            {"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA","kid":"p384"},
            {"kty":"EC","crv":"P-256","alg":"ES384","x":"AA","y":"AA","kid":"wrong-alg"},
            {"kty":"EC","crv":"P-256","use":"enc","x":"AA","y":"AA","kid":"enc"}]}
            """#
        #expect(try JWKSDocument(json: Array(others.utf8)).keys.isEmpty)
    }

    @Test("a P-256 entry that is broken makes the document invalid: point off the curve, short coordinates, no y")
    func brokenP256() throws {
        let good = SigningKey(algorithm: .es256, createdAt: Date()).publicJWK
        var offCurve = good
        let y = try #require(good.y.flatMap { Base64URL.decode($0) })
        offCurve.y = Base64URL.encode(y.enumerated().map { $0.offset == 31 ? $0.element ^ 1 : $0.element })
        var short = good
        short.x = Base64URL.encode([UInt8](repeating: 1, count: 31))
        var noY = good
        noY.y = nil
        for jwk in [offCurve, short, noY] {
            #expect(throws: BatonError.storeUnavailable) { try JWKSDocument(json: JWKSDocument(keys: [jwk]).jsonBytes()) }
        }
    }

    @Test("Cache-Control max-age is read; no-store and no-cache mean 0; no header means unknown")
    func maxAge() {
        #expect(FetchedJWKS.maxAge(cacheControl: "public, max-age=30") == 30)
        #expect(FetchedJWKS.maxAge(cacheControl: "max-age=0") == 0)
        #expect(FetchedJWKS.maxAge(cacheControl: "Max-Age = 45 ,public") == 45)
        #expect(FetchedJWKS.maxAge(cacheControl: "no-store") == 0)
        #expect(FetchedJWKS.maxAge(cacheControl: "max-age=60, no-cache") == 0)
        #expect(FetchedJWKS.maxAge(cacheControl: "max-age=-5") == 0)
        #expect(FetchedJWKS.maxAge(cacheControl: "max-age=soon") == 0)
        #expect(FetchedJWKS.maxAge(cacheControl: "public") == nil)
        #expect(FetchedJWKS.maxAge(cacheControl: nil) == nil)
    }
}

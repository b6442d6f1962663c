import Foundation
import Testing

@testable import BatonCore

/// What the login host mints: exactly the header and claims PROTOCOL.md lists.
@Suite("HandoffMinter: the good token")
struct HandoffMinterTests {
    private func minted(lifetime: Int64 = 10) async throws -> (VerifierFixture, HandoffMinter.Minted) {
        let f = try await VerifierFixture()
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: f.issuerKey.signingKey, lifetime: lifetime, clock: f.clock)
        return (f, try await minter.mint(audience: "dashboard", sid: "sid-public-handle", state: VerifierFixture.state))
    }

    private func members(_ part: String) throws -> [(String, JSONValue)] {
        let bytes = try #require(Base64URL.decode(part))
        return try StrictJSON.parseObject(bytes)
    }

    @Test("a minted token verifies and carries the minted values")
    func verifies() async throws {
        let (f, minted) = try await minted()
        let claims = try await f.verifier.verify(minted.token)
        #expect(claims.iss == VerifierFixture.issuer)
        #expect(claims.aud == "dashboard")
        #expect(claims.sid == "sid-public-handle")
        #expect(claims.jti == minted.jti)
        #expect(claims.iat == minted.iat)
        #expect(claims.exp == minted.exp)
        #expect(claims.nbf == nil)
    }

    @Test("its header is exactly alg EdDSA, kid and typ handoff+jwt")
    func header() async throws {
        let (f, minted) = try await minted()
        let header = try members(try TokenParts(minted.token).header)
        #expect(header.map(\.0).sorted() == ["alg", "kid", "typ"])
        let values = Dictionary(uniqueKeysWithValues: header)
        #expect(values["alg"] == .string("EdDSA"))
        #expect(values["kid"] == .string(f.issuerKey.kid))
        #expect(values["typ"] == .string("handoff+jwt"))
    }

    @Test("its claims are exactly iss, aud, sid, jti, iat, exp and nonce, with integer times")
    func claims() async throws {
        let (f, minted) = try await minted()
        let claims = try members(try TokenParts(minted.token).payload)
        #expect(claims.map(\.0).sorted() == ["aud", "exp", "iat", "iss", "jti", "nonce", "sid"])
        let values = Dictionary(uniqueKeysWithValues: claims)
        #expect(values["iat"]?.integerValue == f.now)
        #expect(values["exp"]?.integerValue == f.now + 10)
        #expect(minted.exp - minted.iat == 10)
    }

    @Test("its jti carries at least 128 random bits and is new every time")
    func jti() async throws {
        let f = try await VerifierFixture()
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: f.issuerKey.signingKey, clock: f.clock)
        var seen: Set<String> = []
        for _ in 0..<50 {
            let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
            let bytes = try #require(Base64URL.decode(minted.jti))
            #expect(bytes.count >= 16)
            #expect(seen.insert(minted.jti).inserted)
        }
    }

    @Test("its nonce is base64url(SHA-256(state))")
    func nonce() async throws {
        let (f, minted) = try await minted()
        let claims = try await f.verifier.verify(minted.token)
        #expect(claims.nonce == HandoffClaims.nonce(forState: VerifierFixture.state))
        #expect(claims.nonce == Secrets.hash(VerifierFixture.state))
        #expect(claims.nonce != HandoffClaims.nonce(forState: VerifierFixture.state + "x"))
    }

    @Test("its sid is the handle given, and nothing about the person travels in the token")
    func nothingPersonal() async throws {
        let (_, minted) = try await minted()
        let payload = String(decoding: try #require(Base64URL.decode(try TokenParts(minted.token).payload)), as: UTF8.self)
        #expect(payload.contains("sid-public-handle"))
        #expect(!payload.contains("state-0123456789abcdef"))
    }

    @Test("a configured lifetime is clamped to 1...60 seconds")
    func lifetimeClamp() async throws {
        let (_, long) = try await minted(lifetime: 3600)
        #expect(long.exp - long.iat == 60)
        let (_, zero) = try await minted(lifetime: 0)
        #expect(zero.exp - zero.iat == 1)
        let (_, negative) = try await minted(lifetime: -5)
        #expect(negative.exp - negative.iat == 1)
    }
}

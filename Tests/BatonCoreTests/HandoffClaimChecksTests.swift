import Foundation
import Testing

@testable import BatonCore

/// Step 2 of redemption: `iss`, `aud` (this relying party only), `iat`/`exp`/`nbf`
/// with at most 2 s of leeway, and `exp - iat` within the configured maximum.
@Suite("HandoffVerifier: issuer, audience, time and lifetime")
struct HandoffClaimChecksTests {
    // MARK: token_wrong_issuer

    @Test(
        "an issuer other than the configured origin, byte for byte",
        arguments: [
            "http://evil.localhost:8080", "http://login.localhost:8080/", "https://login.localhost:8080",
            "HTTP://login.localhost:8080", "http://LOGIN.localhost:8080", "http://login.localhost:8081",
            "http://login.localhost", "http://login.localhost:8080.evil.example", "login.localhost:8080",
            "http://login.localhost:8080 ", "http://login.localhost:808",
        ])
    func wrongIssuer(issuer: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims(["iss": q(issuer)]))) == .tokenWrongIssuer)
    }

    // MARK: token_wrong_audience

    @Test("a token minted for reports is refused by the dashboard")
    func tokenForAnotherRelyingParty() async throws {
        let f = try await VerifierFixture()
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: f.issuerKey.signingKey, clock: f.clock)
        let forReports = try await minter.mint(audience: "reports", sid: "sid-1", state: VerifierFixture.state)
        #expect(await f.refusal(forReports.token) == .tokenWrongAudience)
        let reportsVerifier = HandoffVerifier(issuer: VerifierFixture.issuer, audience: "reports", keys: f.keys, clock: f.clock)
        #expect(try await reportsVerifier.verify(forReports.token).aud == "reports")
    }

    @Test("an audience that is almost the dashboard's", arguments: ["Dashboard", "dashboard ", "dashboard2", "dash", "*", "reports"])
    func nearMissAudience(audience: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims(["aud": q(audience)]))) == .tokenWrongAudience)
    }

    // MARK: token_expired

    @Test("expiry: exp + 2 s of leeway still verifies, a moment later is expired")
    func expiryBoundary() async throws {
        let f = try await VerifierFixture()
        let token = try f.signed()
        #expect(await f.refusal(token) == nil)
        f.clock.advance(by: 10)  // exactly exp
        #expect(await f.refusal(token) == nil)
        f.clock.advance(by: 2)  // exp + 2
        #expect(await f.refusal(token) == nil)
        f.clock.advance(by: 0.001)  // exp + 2.001: the leeway is 2 s, not "until the next whole second"
        #expect(await f.refusal(token) == .tokenExpired)
        f.clock.advance(by: 0.999)  // exp + 3
        #expect(await f.refusal(token) == .tokenExpired)
        f.clock.advance(by: 3600)
        #expect(await f.refusal(token) == .tokenExpired)
    }

    @Test(
        "expiry is compared in fractional time: a token verifies up to exp + leeway and never after",
        arguments: [0.001, 0.25, 0.5, 0.999])
    func expiryAtFractionalTimes(fraction: Double) async throws {
        for leeway: Int64 in [0, 1, 2] {
            let f = try await VerifierFixture(leeway: leeway)
            let token = try f.signed()  // iat = now, exp = now + 10
            f.clock.advance(by: TimeInterval(10 + leeway) - fraction)
            #expect(await f.refusal(token) == nil, "exp + \(leeway) - \(fraction) s")
            f.clock.advance(by: 2 * fraction)
            #expect(await f.refusal(token) == .tokenExpired, "exp + \(leeway) + \(fraction) s")
        }
    }

    @Test("a verified token's jti stays burned at least a second past the last instant it verifies")
    func burnedUntilOutlivesVerification() async throws {
        for leeway: Int64 in [0, 2] {
            let f = try await VerifierFixture(leeway: leeway)
            let token = try f.signed()
            let claims = try await f.verifier.verify(token)
            let until = f.verifier.burnedUntil(claims)
            #expect(until.timeIntervalSince1970 >= TimeInterval(claims.exp + leeway + 1))
            // Walk past the end in fractional steps: wherever the token still verifies,
            // a pruner deleting rows whose `until` is before now would keep its row.
            var verifiedLast = f.clock.now()
            for _ in 0..<100 {
                f.clock.advance(by: 0.137)
                if await f.refusal(token) == nil { verifiedLast = f.clock.now() }
            }
            #expect(verifiedLast.addingTimeInterval(1) <= until, "leeway \(leeway)")
        }
    }

    @Test("a verifier configured with more leeway than 2 s still allows only 2")
    func leewayIsCapped() async throws {
        let f = try await VerifierFixture(leeway: 30)
        #expect(f.verifier.leeway == 2)
        let token = try f.signed()
        f.clock.advance(by: 13)
        #expect(await f.refusal(token) == .tokenExpired)
    }

    @Test("with zero leeway, exp + 1 is expired")
    func zeroLeeway() async throws {
        let f = try await VerifierFixture(leeway: 0)
        let token = try f.signed()
        f.clock.advance(by: 10)
        #expect(await f.refusal(token) == nil)
        f.clock.advance(by: 1)
        #expect(await f.refusal(token) == .tokenExpired)
    }

    // MARK: token_not_yet_valid

    @Test("iat up to 2 s in the future verifies, 3 s is not yet valid")
    func iatInFuture() async throws {
        let f = try await VerifierFixture()
        for (ahead, expected) in [(1, BatonError?.none), (2, nil), (3, .tokenNotYetValid), (3600, .tokenNotYetValid)] as [(Int64, BatonError?)] {
            let iat = f.now + ahead
            let token = try f.signed(payload: f.claims(["iat": "\(iat)", "exp": "\(iat + 10)"]))
            #expect(await f.refusal(token) == expected, "iat now+\(ahead)")
        }
    }

    @Test("nbf up to 2 s in the future verifies, 3 s is not yet valid")
    func nbfInFuture() async throws {
        let f = try await VerifierFixture()
        for (ahead, expected) in [(-5, BatonError?.none), (0, nil), (2, nil), (3, .tokenNotYetValid), (9, .tokenNotYetValid)] as [(Int64, BatonError?)] {
            let token = try f.signed(payload: f.claims(extra: [("nbf", "\(f.now + ahead)")]))
            #expect(await f.refusal(token) == expected, "nbf now+\(ahead)")
        }
    }

    @Test("a token with nbf in the future becomes valid when its time comes")
    func nbfArrives() async throws {
        let f = try await VerifierFixture()
        let token = try f.signed(payload: f.claims(extra: [("nbf", "\(f.now + 5)")]))
        #expect(await f.refusal(token) == .tokenNotYetValid)
        f.clock.advance(by: 3)
        #expect(await f.refusal(token) == nil)
    }

    // MARK: token_lifetime_too_long

    @Test("exp - iat of 60 is the most a default verifier accepts; 61 is too long")
    func defaultLifetimeCap() async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 60)"]))) == nil)
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 61)"]))) == .tokenLifetimeTooLong)
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 86_400 * 365)"]))) == .tokenLifetimeTooLong)
    }

    @Test("with maximumLifetime 10, exp - iat of 11 is too long")
    func configuredLifetime() async throws {
        let f = try await VerifierFixture(maximumLifetime: 10)
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 10)"]))) == nil)
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 11)"]))) == .tokenLifetimeTooLong)
    }

    @Test("a configured maximum above 60 s is capped at 60")
    func configuredLifetimeIsCapped() async throws {
        let f = try await VerifierFixture(maximumLifetime: 3600)
        #expect(f.verifier.maximumLifetime == 60)
        #expect(await f.refusal(try f.signed(payload: f.claims(["exp": "\(f.now + 61)"]))) == .tokenLifetimeTooLong)
    }

    @Test("a long-lived token issued in the past is refused for its lifetime even before it expires")
    func longLivedPastToken() async throws {
        let f = try await VerifierFixture()
        let iat = f.now - 30
        let token = try f.signed(payload: f.claims(["iat": "\(iat)", "exp": "\(iat + 3600)"]))
        #expect(await f.refusal(token) == .tokenLifetimeTooLong)
    }
}

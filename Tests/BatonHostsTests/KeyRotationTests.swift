import BatonAttack
import BatonCore
import BatonLogin
import BatonTestSupport
import Foundation
import Testing

/// Rotation across real sockets: `baton keys rotate` in another process is another
/// writer of the key file; the running login host publishes the new key within a
/// second, signs with it only after the activation delay, and keeps the old key
/// published until every token it signed has expired.
@Suite("Key rotation on running hosts")
struct KeyRotationTests {
    /// The JWKS the login host serves now.
    static func jwks(_ hosts: TestHosts) async throws -> (kids: [String], exchange: HTTPExchange) {
        let response = try await hosts.browser().get(TestHosts.loginOrigin + "/.well-known/jwks.json")
        let document = try JWKSDocument(json: Array(response.body.utf8))
        return (document.keys.map(\.kid), response)
    }

    /// Polls the JWKS (real time, at most `seconds`) until `kid` is in it or not.
    static func waitForJWKS(_ hosts: TestHosts, contains kid: String, _ expected: Bool = true, seconds: Double = 5) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await jwks(hosts).kids.contains(kid) == expected { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func kid(of callbackURL: String) throws -> String? {
        try CompactJWS(parsing: try #require(Browser.token(in: callbackURL))).kid
    }

    static func redeemed(_ response: HTTPExchange) -> Bool {
        response.status == 303 && response.setCookie("__Host-baton_session").map { !$0.hasPrefix("__Host-baton_session=;") } == true
    }

    @Test(
        "another writer's rotation is published at once, signs after the delay; in-flight old tokens redeem; the old key retires",
        .timeLimit(.minutes(1)))
    func rotationByAnotherWriter() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let old = hosts.keyRing.keys[0]
            #expect(try await Self.jwks(hosts).kids == [old.kid])

            // `baton keys rotate`: its own load, rotate and atomic write of the same file.
            let (_, added) = try SigningKeyRing.rotate(
                at: hosts.keyFile, algorithm: .eddsa, activationDelay: LoginHostConfiguration.defaultKeyActivationDelay,
                clock: hosts.clock)
            let new = added.key.kid
            // Published within about a second, without a restart...
            #expect(try await Self.waitForJWKS(hosts, contains: new))
            #expect(try await Self.jwks(hosts).kids == [old.kid, new])
            // ...but not signing yet.
            #expect(try Self.kid(of: try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)) == old.kid)

            // A token minted by the old key shortly before the new one activates: 6 s, as
            // the test clock also follows real time (slow on a loaded machine), and the
            // token must still be within its 10 s lifetime + 2 s leeway when redeemed...
            hosts.clock.advance(by: LoginHostConfiguration.defaultKeyActivationDelay - 6)
            let inFlight = try await browser.obtainCallbackURL(rpOrigin: TestHosts.reportsOrigin)
            #expect(try Self.kid(of: inFlight) == old.kid)
            hosts.clock.advance(by: 6)
            // ...the new key signs from its activation...
            let fresh = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            #expect(try Self.kid(of: fresh) == new)
            #expect(Self.redeemed(try await browser.get(fresh)))
            // ...and the old one still redeems after it.
            #expect(Self.redeemed(try await browser.get(inFlight)))

            // Retiring: still published until every token it signed has expired (the
            // test clock also follows real time, hence the 10 s of slack).
            hosts.clock.advance(by: SigningKeyRing.retention - 10)
            #expect(try await Self.jwks(hosts).kids == [old.kid, new])
            hosts.clock.advance(by: 11)
            #expect(try await Self.jwks(hosts).kids == [new])
            // Out of the relying party's trust too, once its cache has been refreshed: a
            // token the old key signs now is refused.
            let oldMinter = await HandoffMinter(issuer: TestHosts.loginOrigin, key: old, clock: hosts.clock)
            let late = try await oldMinter.mint(audience: "dashboard", sid: "sid-x", state: "state-0123456789abcdef")
            let refused = try await hosts.browser().get(TestHosts.dashboardOrigin + "/sso/callback?token=" + late.token)
            #expect(refused.batonError == "token_unknown_key")

            // The next rotation prunes it from the key file.
            _ = try SigningKeyRing.rotate(at: hosts.keyFile, algorithm: .eddsa, activationDelay: 60, clock: hosts.clock)
            let file = try SigningKeyRing.load(from: hosts.keyFile)
            #expect(!file.keys.map(\.kid).contains(old.kid))
            #expect(file.keys.count == 2)
        }
    }

    @Test("the JWKS is public and cacheable for jwks_max_age_seconds; nothing else is")
    func jwksCacheControl() async throws {
        var options = TestHosts.Options()
        options.jwksMaxAge = 42
        try await TestHosts.run(options: options) { hosts in
            let (_, response) = try await Self.jwks(hosts)
            #expect(response.status == 200)
            #expect(response.header("Cache-Control") == "public, max-age=42")
            #expect(response.header("Content-Type") == "application/jwk-set+json")
            #expect(response.header("X-Content-Type-Options") == "nosniff")
            #expect(response.header("Referrer-Policy") == "no-referrer")
            // A 404 next to it is still no-store.
            let missing = try await hosts.browser().get(TestHosts.loginOrigin + "/.well-known/other.json")
            #expect(missing.header("Cache-Control") == "no-store")
        }
    }
}

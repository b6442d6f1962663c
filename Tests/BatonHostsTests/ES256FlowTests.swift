import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

/// ES256, configured on the login host and pinned on the relying parties, across
/// real sockets; and a relying party pinned to the other algorithm refusing it.
@Suite("ES256 across real sockets")
struct ES256FlowTests {
    @Test("a login host signing ES256 and relying parties pinned to ES256: sign-in and single sign-on work")
    func es256SignIn() async throws {
        var options = TestHosts.Options()
        options.signingAlgorithm = .es256
        try await TestHosts.run(options: options) { hosts in
            let jwks = try await hosts.browser().get(TestHosts.loginOrigin + "/.well-known/jwks.json")
            let document = try JWKSDocument(json: Array(jwks.body.utf8))
            #expect(document.keys.map(\.kty) == ["EC"])
            #expect(document.keys.map(\.crv) == ["P-256"])

            let browser = hosts.browser()
            let trace = try await browser.signIn(rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(trace.final.status == 200)
            #expect(trace.final.body.contains("Alice Liddell"))
            let token = try #require(trace.callbackURL.flatMap(Browser.token(in:)))
            let jws = try CompactJWS(parsing: token)
            #expect(jws.alg == "ES256")
            #expect(jws.kid == document.keys[0].kid)
            #expect(jws.signature.count == 64)
            let reports = try await browser.navigate(TestHosts.reportsOrigin + "/")
            #expect(reports.status == 200)
            #expect(reports.body.contains("Alice Liddell"))
        }
    }

    @Test("a relying party pinned to EdDSA refuses the ES256 login host's tokens (token_unsupported_alg)")
    func eddsaRelyingPartyRefusesES256() async throws {
        var options = TestHosts.Options()
        options.signingAlgorithm = .es256
        options.relyingPartyAlgorithm = .eddsa
        try await TestHosts.run(options: options) { hosts in
            let trace = try await hosts.browser().signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(trace.final.status == 401)
            #expect(trace.final.batonError == "token_unsupported_alg")
            #expect(trace.final.setCookie("__Host-baton_session") == nil)
        }
    }

    @Test("a relying party pinned to ES256 refuses the EdDSA login host's tokens (token_unsupported_alg)")
    func es256RelyingPartyRefusesEdDSA() async throws {
        var options = TestHosts.Options()
        options.relyingPartyAlgorithm = .es256
        try await TestHosts.run(options: options) { hosts in
            let trace = try await hosts.browser().signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(trace.final.status == 401)
            #expect(trace.final.batonError == "token_unsupported_alg")
        }
    }

    @Test("rotating from EdDSA to ES256: the new P-256 key is published beside the Ed25519 one and signs after the delay")
    func rotationToES256() async throws {
        try await TestHosts.run { hosts in
            let (_, added) = try SigningKeyRing.rotate(at: hosts.keyFile, algorithm: .es256, activationDelay: 60, clock: hosts.clock)
            #expect(try await KeyRotationTests.waitForJWKS(hosts, contains: added.key.kid))
            let document = try JWKSDocument(
                json: Array(try await hosts.browser().get(TestHosts.loginOrigin + "/.well-known/jwks.json").body.utf8))
            #expect(document.keys.map(\.kty) == ["OKP", "EC"])
            let browser = try await hosts.signedInBrowser()
            hosts.clock.advance(by: 60)
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let jws = try CompactJWS(parsing: try #require(Browser.token(in: callback)))
            #expect(jws.alg == "ES256")
            #expect(jws.kid == added.key.kid)
        }
    }
}

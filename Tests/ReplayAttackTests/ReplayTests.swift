import BatonAttack
import BatonCore
import BatonTestSupport
import Crypto
import Foundation
import Testing

/// The replay cases: a handoff token works once, in the browser that asked for it.
@Suite("Replay attacks against live hosts")
struct ReplayTests {
    /// A signed-in browser holding a fresh, unredeemed callback URL for the dashboard.
    static func freshCallback(_ hosts: TestHosts) async throws -> (Browser, String) {
        let browser = try await hosts.signedInBrowser()
        await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
        return (browser, try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin))
    }

    @Test("a second redemption of the same token is token_replayed (403) and sets no cookie")
    func secondRedemption() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            let first = try await browser.get(callback)
            #expect(first.status == 303)
            #expect(first.setCookie("__Host-baton_session") != nil)
            await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
            let second = try await browser.get(callback)
            #expect(second.status == 403)
            #expect(second.batonError == "token_replayed")
            #expect(second.setCookie("__Host-baton_session") == nil)
            #expect(second.body.contains("This sign-in link was already used. Sign in again."))
        }
    }

    @Test("a reload of the callback in the same browser continues, creating nothing")
    func reloadContinues() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            let first = try await browser.get(callback)
            #expect(first.status == 303)
            let cookie = await browser.jar.value("__Host-baton_session", host: "dashboard.localhost")
            let reload = try await browser.get(callback)
            #expect(reload.status == 303)
            #expect(reload.location == first.location)
            #expect(reload.setCookie("__Host-baton_session") == nil)
            #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") == cookie)
            #expect(try await browser.navigate(TestHosts.dashboardOrigin + "/").body.contains("Alice Liddell"))
        }
    }

    @Test("the same callback URL opened in another browser is token_replayed and that browser gets no session")
    func replayFromAnotherBrowser() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            #expect(try await browser.get(callback).status == 303)
            let thief = hosts.browser()
            // Even with the victim's state cookie, the token is spent.
            if let state = await browser.jar.value("__Host-baton_state", host: "dashboard.localhost") {
                await thief.jar.plant("__Host-baton_state", state, host: "dashboard.localhost")
            }
            let stolen = try await thief.get(callback)
            #expect(stolen.status == 403)
            #expect(stolen.batonError == "token_replayed")
            #expect(await thief.jar.value("__Host-baton_session", host: "dashboard.localhost") == nil)
            #expect(try await thief.get(TestHosts.dashboardOrigin + "/").status == 303)
        }
    }

    @Test("32 concurrent redemptions of one token over real sockets: exactly one session")
    func concurrentRedemption() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            let state = try #require(await browser.jar.value("__Host-baton_state", host: "dashboard.localhost"))
            let outcomes = try await withThrowingTaskGroup(of: (Int, String?, Bool).self) { group in
                for _ in 0..<32 {
                    let racer = browser.freshProfile()
                    group.addTask {
                        await racer.jar.plant("__Host-baton_state", state, host: "dashboard.localhost")
                        let response = try await racer.get(callback)
                        return (response.status, response.batonError, response.setCookie("__Host-baton_session") != nil)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.0 == 303 && $0.2 }.count == 1)
            #expect(outcomes.filter { $0.0 == 403 && $0.1 == "token_replayed" }.count == 31)
        }
    }

    @Test("token=A&token=B is refused and burns neither")
    func twoTokenParameters() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
            let callbackA = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let stateA = try #require(await browser.jar.value("__Host-baton_state", host: "dashboard.localhost"))
            let callbackB = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let tokenA = try #require(Browser.token(in: callbackA))
            let tokenB = try #require(Browser.token(in: callbackB))
            let both = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=\(tokenA)&token=\(tokenB)")
            #expect(both.status == 400)
            #expect(both.batonError == "token_malformed")
            #expect(try await browser.get(callbackB).status == 303)
            await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
            await browser.jar.plant("__Host-baton_state", stateA, host: "dashboard.localhost")
            #expect(try await browser.get(callbackA).status == 303)
        }
    }

    @Test("HEAD and OPTIONS before GET burn nothing")
    func headBurnsNothing() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            #expect(try await browser.request("HEAD", callback).status == 405)
            #expect(try await browser.request("OPTIONS", callback).status == 204)
            let redeemed = try await browser.get(callback)
            #expect(redeemed.status == 303)
            #expect(redeemed.setCookie("__Host-baton_session") != nil)
        }
    }

    @Test("a forged token carrying a real token's jti, sent first, does not burn it")
    func forgedTokenDoesNotBurn() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            let token = try #require(Browser.token(in: callback))
            let parts = token.split(separator: ".").map(String.init)
            // Same header and claims, signed by an attacker's key.
            let attacker = Curve25519.Signing.PrivateKey()
            let signature = try attacker.signature(for: Data((parts[0] + "." + parts[1]).utf8))
            let forged = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)
            let refused = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + forged)
            #expect(refused.batonError == "token_invalid_signature")
            let real = try await browser.get(callback)
            #expect(real.status == 303)
            #expect(real.setCookie("__Host-baton_session") != nil)
        }
    }

    @Test("a replay after exp + leeway is refused as expired, before the burn is consulted")
    func replayAfterExpiry() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            #expect(try await browser.get(callback).status == 303)
            hosts.clock.advance(by: 13)
            let late = try await hosts.browser().get(callback)
            #expect(late.batonError == "token_expired")
        }
    }

    @Test("a replayed token is counted as a security event in /metrics, without the token")
    func replayIsCounted() async throws {
        try await TestHosts.run { hosts in
            let (browser, callback) = try await Self.freshCallback(hosts)
            _ = try await browser.get(callback)
            _ = try await hosts.browser().get(callback)
            let metrics = try await browser.get(TestHosts.dashboardOrigin + "/metrics", headers: TestHosts.metricsAuthorization)
            #expect(metrics.body.contains(#"baton_redemptions_total{result="token_replayed"} 1"#))
            #expect(metrics.body.contains(#"baton_replays_total{token="handoff"} 1"#))
            #expect(!metrics.body.contains(try #require(Browser.token(in: callback))))
        }
    }
}

import BatonAttack
import BatonCore
import BatonSQLite
import BatonTestSupport
import Foundation
import Testing

@Suite("Redemption refusals across real sockets")
struct RedemptionRefusalTests {
    @Test("no token parameter: token_missing, with a page that says what to do")
    func missingToken() async throws {
        try await TestHosts.run { hosts in
            let response = try await hosts.browser().get(TestHosts.dashboardOrigin + "/sso/callback")
            #expect(response.status == 400)
            #expect(response.batonError == "token_missing")
            #expect(response.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(response.body.contains("Start again from the dashboard"))
        }
    }

    @Test("another sign-in's state: state_mismatch, and no session")
    func stateMismatch() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            // A second start replaces the state cookie: the first token no longer matches it.
            _ = try await browser.get(TestHosts.dashboardOrigin + "/sso/start?return_to=/")
            let response = try await browser.get(callback)
            #expect(response.status == 403)
            #expect(response.batonError == "state_mismatch")
            #expect(response.setCookie("__Host-baton_session") == nil)
            #expect(response.body.contains("belongs to a different sign-in attempt"))
        }
    }

    @Test("no state cookie: state_missing")
    func stateMissing() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            await browser.jar.remove("__Host-baton_state", host: "dashboard.localhost")
            let response = try await browser.get(callback)
            #expect(response.status == 403)
            #expect(response.batonError == "state_missing")
        }
    }

    @Test("a token for reports presented at dashboard: token_wrong_audience")
    func wrongAudience() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let reportsCallback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.reportsOrigin)
            let token = try #require(Browser.token(in: reportsCallback))
            _ = try await browser.get(TestHosts.dashboardOrigin + "/sso/start?return_to=/")
            let response = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + token)
            #expect(response.status == 401)
            #expect(response.batonError == "token_wrong_audience")
            // And the reverse direction.
            let dashboardCallback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let reverse = try await browser.get(
                TestHosts.reportsOrigin + "/sso/callback?token=" + (Browser.token(in: dashboardCallback) ?? ""))
            #expect(reverse.batonError == "token_wrong_audience")
        }
    }

    @Test("a token presented after exp + leeway: token_expired (injected clock)")
    func expired() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            hosts.clock.advance(by: 10 + 3)
            let response = try await browser.get(callback)
            #expect(response.status == 401)
            #expect(response.batonError == "token_expired")
            #expect(response.body.contains("only valid for a few seconds"))
        }
    }

    @Test("a token whose login session ended before redemption: session_ended")
    func sessionEnded() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let home = try await browser.get(TestHosts.loginOrigin + "/")
            let csrf = try #require(HTMLForm.value("csrf", in: home.body))
            let logout = try await browser.post(TestHosts.loginOrigin + "/logout", form: [("csrf", csrf)])
            #expect(logout.status == 303)
            let response = try await browser.get(callback)
            #expect(response.status == 401)
            #expect(response.batonError == "session_ended")
            #expect(response.setCookie("__Host-baton_session") == nil)
        }
    }

    @Test("a used-token store that fails: 503 store_unavailable, never a session")
    func storeFailureFailsClosed() async throws {
        var options = TestHosts.Options()
        // The real SQLite store, except that burning fails as a full disk or a lock timeout would.
        options.dashboardStoreOverride = { OverridingStore.replacingBurn($0) { _, _, _ in throw StoreError("disk I/O error") } }
        try await TestHosts.run(options: options) { hosts in
            let browser = hosts.browser()
            let trace = try await browser.signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(trace.final.status == 503)
            #expect(trace.final.batonError == "store_unavailable")
            #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") == nil)
        }
    }
}

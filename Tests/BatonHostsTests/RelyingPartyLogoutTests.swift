import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

/// The relying party's own logout ends the session on the server, not only in the
/// browser: a copy of the cookie taken before the logout authenticates nothing after it.
@Suite("Relying-party logout ends the session on the server")
struct RelyingPartyLogoutTests {
    @Test("after POST /logout the old session cookie is refused: 303 to sign in on /, 401 on /sso/auth", arguments: ["/logout", "/sso/logout"])
    func oldCookieIsRefusedAfterLogout(path: String) async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let cookie = try #require(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost"))
            let header = [("Cookie", "__Host-baton_session=\(cookie)")]
            let attacker = hosts.browser()
            // Before the logout the copied cookie works: the checks below can fail.
            #expect(try await attacker.request("GET", TestHosts.dashboardOrigin + "/", headers: header, sendCookies: false).status == 200)
            #expect(try await attacker.request("GET", TestHosts.dashboardOrigin + "/sso/auth", headers: header, sendCookies: false).status == 200)

            let home = try await browser.get(TestHosts.dashboardOrigin + "/")
            let logout = try await browser.post(
                TestHosts.dashboardOrigin + path, form: [("csrf", HTMLForm.value("csrf", in: home.body) ?? "")])
            #expect(logout.status == 303 && logout.location == "/sso/signed-out")
            #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") == nil)
            #expect(try await hosts.dashboardStore.rpSession(idHash: Secrets.hash(cookie)) == nil, "the session row outlived the logout")

            // The copy, replayed: signed out everywhere the relying party is asked.
            let page = try await attacker.request("GET", TestHosts.dashboardOrigin + "/", headers: header, sendCookies: false)
            #expect(page.status == 303)
            #expect(page.location == "/sso/start?return_to=%2F")
            #expect(!page.body.contains("Alice Liddell"))
            let auth = try await attacker.request("GET", TestHosts.dashboardOrigin + "/sso/auth", headers: header, sendCookies: false)
            #expect(auth.status == 401)
            #expect(auth.header("Baton-User") == nil || auth.header("Baton-User") == "")
            // The login session is untouched: signing in again needs no password.
            let again = try await browser.navigate(TestHosts.dashboardOrigin + "/")
            #expect(again.status == 200 && again.body.contains("Alice Liddell"))
            #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") != cookie)
        }
    }
}

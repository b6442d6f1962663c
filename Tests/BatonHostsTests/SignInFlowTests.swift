import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

@Suite("The handoff across real sockets")
struct SignInFlowTests {
    @Test("a person signs in on the login host and lands on the dashboard, signed in")
    func signInLandsOnDashboard() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let first = try await browser.get(TestHosts.dashboardOrigin + "/")
            #expect(first.status == 303)
            #expect(first.location == "/sso/start?return_to=%2F")

            let trace = try await browser.signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            let statuses = trace.chain.map { "\($0.status) \(PublicURL($0.url)!.host)\(PublicURL($0.url)!.path)" }
            #expect(
                statuses == [
                    "303 dashboard.localhost/sso/start", "303 login.localhost/handoff", "200 login.localhost/login",
                    "303 login.localhost/login", "302 login.localhost/handoff", "303 dashboard.localhost/sso/callback",
                    "200 dashboard.localhost/",
                ])
            #expect(trace.final.body.contains("Alice Liddell"))
            #expect(trace.final.body.contains(#"<dd id="username">alice</dd>"#))
            #expect(trace.final.body.contains("Token minted"))
            // The token travelled in the callback URL only, never into a page.
            let token = try #require(trace.callbackURL.flatMap(Browser.token(in:)))
            #expect(trace.chain.allSatisfy { !$0.body.contains(token) })
            let mint = try #require(trace.chain.first { $0.status == 302 })
            #expect(mint.body.isEmpty)
            #expect(mint.location?.hasPrefix(TestHosts.dashboardOrigin + "/sso/callback?token=") == true)
        }
    }

    @Test("a second relying party signs in without a password (single sign-on)")
    func singleSignOn() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let chain = try await browser.follow(try await browser.get(TestHosts.reportsOrigin + "/"))
            #expect(!chain.contains { PublicURL($0.url)?.path == "/login" })
            #expect(chain.last?.status == 200)
            #expect(chain.last?.body.contains("Reports") == true)
            #expect(chain.last?.body.contains("Alice Liddell") == true)
        }
    }

    @Test("the login host remembers which relying parties looked the session up")
    func lookupsAreRecorded() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            _ = try await browser.navigate(TestHosts.reportsOrigin + "/")
            let home = try await browser.get(TestHosts.loginOrigin + "/")
            #expect(home.status == 200)
            #expect(home.body.contains("dashboard"))
            #expect(home.body.contains("reports"))
        }
    }
}

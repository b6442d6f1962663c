import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

@Suite("The login host")
struct LoginHostTests {
    static func post(_ browser: Browser, username: String, password: String) async throws -> HTTPExchange {
        let form = try await browser.get(TestHosts.loginOrigin + "/login")
        return try await browser.post(
            TestHosts.loginOrigin + "/login",
            form: [("csrf", HTMLForm.value("csrf", in: form.body) ?? ""), ("continue", "/"), ("username", username), ("password", password)])
    }

    @Test("a wrong password and an unknown user get the same single message, 401, no stack trace")
    func wrongCredentials() async throws {
        try await TestHosts.run { hosts in
            let wrongPassword = try await Self.post(hosts.browser(), username: "alice", password: "not-the-password")
            let unknownUser = try await Self.post(hosts.browser(), username: "mallory", password: "wonderland")
            for response in [wrongPassword, unknownUser] {
                #expect(response.status == 401)
                #expect(response.body.components(separatedBy: "Wrong username or password.").count == 2)
                #expect(!response.body.contains("Error:") && !response.body.contains(".swift"))
                #expect(response.setCookie("__Host-baton_login") == nil)
            }
        }
    }

    @Test("repeated failures get 429, even with the right password")
    func throttled() async throws {
        try await TestHosts.run { hosts in
            for _ in 0..<5 {
                #expect(try await Self.post(hosts.browser(), username: "alice", password: "wrong-password").status == 401)
            }
            let blocked = try await Self.post(hosts.browser(), username: "alice", password: TestHosts.password)
            #expect(blocked.status == 429)
            #expect(blocked.setCookie("__Host-baton_login") == nil)
            hosts.clock.advance(by: 301)
            #expect(try await Self.post(hosts.browser(), username: "alice", password: TestHosts.password).status == 303)
        }
    }

    @Test("a sign-in without the form's CSRF token is refused")
    func loginCSRF() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            _ = try await browser.get(TestHosts.loginOrigin + "/login")
            let response = try await browser.post(
                TestHosts.loginOrigin + "/login", form: [("username", "alice"), ("password", TestHosts.password), ("continue", "/")])
            #expect(response.status == 403)
            #expect(response.setCookie("__Host-baton_login") == nil)
            let forged = try await browser.post(
                TestHosts.loginOrigin + "/login",
                form: [("csrf", "forged-forged-forged-forged"), ("username", "alice"), ("password", TestHosts.password)])
            #expect(forged.status == 403)
        }
    }

    @Test("a planted login cookie is never adopted: signing in issues a new one")
    func noSessionFixation() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let planted = "planted-by-attacker-0123456789"
            await browser.jar.plant("__Host-baton_login", planted, host: "login.localhost")
            #expect(try await browser.get(TestHosts.loginOrigin + "/").location == "/login")
            let response = try await Self.post(browser, username: "alice", password: TestHosts.password)
            #expect(response.status == 303)
            let issued = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
            #expect(issued != planted)
        }
    }

    @Test("the back channel answers only a registered client's Basic credentials")
    func backChannelAuthentication() async throws {
        try await TestHosts.run { hosts in
            let session = try await hosts.loginStore.loginSession(
                secretHash: BatonCoreHash.of(
                    try #require(await hosts.signedInBrowser().jar.value("__Host-baton_login", host: "login.localhost"))))
            let sid = try #require(session?.sid)
            let browser = hosts.browser()
            let url = TestHosts.loginOrigin + "/api/sessions/" + sid
            func basic(_ user: String, _ password: String) -> (String, String) {
                ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
            }
            let refused = [
                try await browser.get(url),
                try await browser.get(url, headers: [basic("dashboard", "wrong-secret-wrong-secret")]),
                try await browser.get(url, headers: [basic("nobody", "wrong-secret-wrong-secret")]),
                try await browser.get(url, headers: [("Authorization", "Bearer " + sid)]),
                try await browser.get(url, headers: [("Authorization", "Basic !!!")]),
            ]
            for response in refused {
                #expect(response.status == 401)
                #expect(response.header("WWW-Authenticate")?.hasPrefix("Basic") == true)
                #expect(!response.body.contains("alice"))
            }
        }
    }

    @Test("the back channel tells a client about a session only if it was handed a token for it, with email and groups")
    func backChannelScope() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let secret = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
            let sid = try #require(try await hosts.loginStore.loginSession(secretHash: BatonCoreHash.of(secret))?.sid)
            func ask(_ client: String) async throws -> HTTPExchange {
                try await hosts.browser().get(
                    TestHosts.loginOrigin + "/api/sessions/" + sid,
                    headers: [("Authorization", "Basic " + Data("\(client):\(hosts.secrets[client]!)".utf8).base64EncodedString())])
            }
            let dashboard = try await ask("dashboard")
            #expect(dashboard.status == 200)
            let info = try JSONDecoder().decode(SessionInfo.self, from: Data(dashboard.body.utf8))
            #expect(info.sid == sid && info.username == "alice" && info.display_name == "Alice Liddell")
            #expect(info.email == TestHosts.email && info.groups == TestHosts.groups)
            #expect(dashboard.body.contains(#""groups":["staff","ops"]"#) && dashboard.body.contains(#""email":"alice@example.com""#))
            // reports has not been handed this session: it learns nothing, and touches nothing.
            let reports = try await ask("reports")
            #expect(reports.status == 404)
            #expect(!reports.body.contains("alice"))
            // Once it is handed a token for the session, it may ask.
            _ = try await browser.navigate(TestHosts.reportsOrigin + "/")
            #expect(try await ask("reports").status == 200)
        }
    }

    @Test("a session's sid does not work as a login cookie")
    func sidIsNotACookie() async throws {
        try await TestHosts.run { hosts in
            let signedIn = try await hosts.signedInBrowser()
            let secret = try #require(await signedIn.jar.value("__Host-baton_login", host: "login.localhost"))
            let sid = try #require(try await hosts.loginStore.loginSession(secretHash: BatonCoreHash.of(secret))?.sid)
            let attacker = hosts.browser()
            await attacker.jar.plant("__Host-baton_login", sid, host: "login.localhost")
            #expect(try await attacker.get(TestHosts.loginOrigin + "/").location == "/login")
        }
    }

    /// The value of `baton_handoffs_minted_total` for `clientID` on the login host's
    /// `/metrics` (0 while the series does not exist).
    static func mintedCount(_ browser: Browser, clientID: String) async throws -> Double {
        let metrics = try await browser.get(TestHosts.loginOrigin + "/metrics")
        #expect(metrics.status == 200)
        let series = "baton_handoffs_minted_total{client_id=\"\(clientID)\"} "
        let lines = metrics.body.split(separator: "\n").filter { $0.hasPrefix(series) }
        #expect(lines.count <= 1, "one series per client")
        guard let line = lines.first else { return 0 }
        return try #require(Double(line.dropFirst(series.count).trimmingCharacters(in: .whitespaces)), "\(line)")
    }

    @Test("HEAD and OPTIONS on /handoff mint nothing; a GET mints one")
    func headMintsNothing() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let before = try await Self.mintedCount(browser, clientID: "dashboard")
            #expect(before >= 1, "the sign-in minted one")
            let start = try await browser.get(TestHosts.dashboardOrigin + "/sso/start?return_to=/")
            let handoff = try #require(start.location)
            for method in ["HEAD", "OPTIONS"] {
                for _ in 0..<3 {
                    let response = try await browser.request(method, handoff)
                    #expect(response.location == nil)
                    #expect(response.status == 405 || response.status == 204)
                }
            }
            #expect(try await Self.mintedCount(browser, clientID: "dashboard") == before, "HEAD/OPTIONS minted a token")
            // The positive control: the same URL fetched for real mints exactly one.
            let minted = try await browser.get(handoff)
            #expect(minted.status == 302 && minted.location?.contains("token=") == true)
            #expect(try await Self.mintedCount(browser, clientID: "dashboard") == before + 1)
        }
    }

    @Test("a 64 KiB token is a client error and the host keeps serving")
    func hugeToken() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let token = String(repeating: "A", count: 64 * 1024)
            let response = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + token)
            #expect((400..<500).contains(response.status))
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/healthz").status == 200)
            let trace = try await browser.signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(trace.final.status == 200)
        }
    }
}

enum BatonCoreHash {
    static func of(_ secret: String) -> String { Secrets.hash(secret) }
}

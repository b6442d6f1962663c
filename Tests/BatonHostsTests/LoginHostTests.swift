import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

@Suite("The login host")
struct LoginHostTests {
    static func post(_ browser: Browser, username: String, password: String, from address: String? = nil) async throws -> HTTPExchange {
        let form = try await browser.get(TestHosts.loginOrigin + "/login")
        return try await browser.request(
            "POST", TestHosts.loginOrigin + "/login",
            form: [("csrf", HTMLForm.value("csrf", in: form.body) ?? ""), ("continue", "/"), ("username", username), ("password", password)],
            headers: address.map { [("X-Forwarded-For", $0)] } ?? [])
    }

    /// The login host believes X-Forwarded-For from 127.0.0.1, so a test can pose as many clients.
    static var behindProxy: TestHosts.Options {
        var options = TestHosts.Options()
        options.trustedProxies = [IPNetwork("127.0.0.1")!]
        return options
    }

    @Test("of 60 concurrent wrong guesses for alice from one address, at most 5 get a password check; the rest get 429")
    func concurrentGuessesAreThrottledBeforeHashing() async throws {
        var options = Self.behindProxy
        options.hasher = PasswordHasher(cost: 8, concurrency: 2, queueLimit: 64)
        try await TestHosts.run(options: options) { hosts in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<60 {
                    group.addTask { try await Self.post(hosts.browser(), username: "alice", password: "guess", from: "203.0.113.7").status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count <= 5, "\(statuses.filter { $0 == 401 }.count) guesses had their password checked")
            #expect(statuses.filter { $0 == 401 }.count >= 1)
            #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 }, "\(Set(statuses))")
        }
    }

    @Test("failures from one address never lock alice out of her own address")
    func noLockoutFromElsewhere() async throws {
        try await TestHosts.run(options: Self.behindProxy) { hosts in
            func attempt(_ password: String, from address: String) async throws -> Int {
                try await Self.post(hosts.browser(), username: "alice", password: password, from: address).status
            }
            for _ in 0..<5 {
                let status = try await attempt("guess", from: "203.0.113.7")
                #expect(status == 401)
            }
            let attacker = try await attempt(TestHosts.password, from: "203.0.113.7")
            #expect(attacker == 429)
            // Her own address, and an X-Forwarded-For whose first entry the attacker wrote: she is not locked out.
            let own = try await attempt(TestHosts.password, from: "198.51.100.1")
            #expect(own == 303)
            let forgedChain = try await attempt(TestHosts.password, from: "203.0.113.7, 198.51.100.2")
            #expect(forgedChain == 303)
        }
    }

    @Test("a full password-hashing queue answers 503 with Retry-After, and the host keeps serving")
    func boundedHashing() async throws {
        var options = Self.behindProxy
        options.hasher = PasswordHasher(cost: 10, concurrency: 1, queueLimit: 1)
        try await TestHosts.run(options: options) { hosts in
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let response = try await Self.post(hosts.browser(), username: "user\(index)", password: "guess", from: "10.1.0.\(index)")
                        return (response.status, response.header("Retry-After"))
                    }
                }
                group.addTask { (try await hosts.browser().get(TestHosts.loginOrigin + "/healthz").status, nil) }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            let busy = statuses.filter { $0.0 == 503 }
            #expect(!busy.isEmpty, "\(statuses.map(\.0))")
            #expect(busy.allSatisfy { $0.1 != nil })
            #expect(statuses.allSatisfy { [200, 401, 503].contains($0.0) }, "\(statuses.map(\.0))")
            #expect(statuses.contains { $0.0 == 200 }, "/healthz answered")
        }
    }

    @Test("a password bcrypt would truncate never signs in: a NUL byte, or bytes past the 72nd")
    func truncatedPasswords() async throws {
        try await TestHosts.run { hosts in
            let withNUL = try await Self.post(hosts.browser(), username: "alice", password: TestHosts.password + "\u{0}anything")
            #expect(withNUL.status == 401)
            let plain = try await Self.post(hosts.browser(), username: "alice", password: TestHosts.password)
            #expect(plain.status == 303)
        }
    }

    @Test("a hash made at an older cost is upgraded at the next sign-in, so real hashes cost what the decoy does")
    func rehashOnSignIn() async throws {
        var options = TestHosts.Options()
        options.hasher = PasswordHasher(cost: 5)
        try await TestHosts.run(options: options) { hosts in
            try await hosts.loginStore.insertUser(
                User(id: "user-carol", username: "carol", displayName: "Carol", passwordHash: await PasswordHasher(cost: 4).hash("carol-password"),
                    createdAt: Date()))
            let first = try await Self.post(hosts.browser(), username: "carol", password: "carol-password")
            #expect(first.status == 303)
            let hash = try #require(try await hosts.loginStore.user(username: "carol")?.passwordHash)
            #expect(hash.hasPrefix("$2b$05$"), "\(hash.prefix(7))")
            let again = try await Self.post(hosts.browser(), username: "carol", password: "carol-password")
            #expect(again.status == 303)
        }
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
        let metrics = try await browser.get(TestHosts.loginOrigin + "/metrics", headers: TestHosts.metricsAuthorization)
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

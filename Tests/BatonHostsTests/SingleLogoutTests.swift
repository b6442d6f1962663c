import BatonAttack
import BatonCore
import BatonSQLite
import BatonTestSupport
import Crypto
import Foundation
import Testing

/// Ending a login session ends it everywhere: back-channel logout over real sockets,
/// revalidation as the safety net, and timeouts with an injected clock.
@Suite("Single logout across domains")
struct SingleLogoutTests {
    static func loginSID(_ browser: Browser, _ hosts: TestHosts) async throws -> String {
        let secret = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
        return try #require(try await hosts.loginStore.loginSession(secretHash: Secrets.hash(secret))?.sid)
    }

    static func rpSessionAlive(_ browser: Browser, _ store: any RPSessionStore, host: String) async throws -> Bool {
        guard let cookie = await browser.jar.value("__Host-baton_session", host: host) else { return false }
        return try await store.rpSession(idHash: Secrets.hash(cookie)) != nil
    }

    /// Signs out on the login host through its form.
    static func logOutOfLogin(_ browser: Browser) async throws -> HTTPExchange {
        let home = try await browser.get(TestHosts.loginOrigin + "/")
        return try await browser.post(TestHosts.loginOrigin + "/logout", form: [("csrf", HTMLForm.value("csrf", in: home.body) ?? "")])
    }

    /// Waits (bounded) until `condition` holds; returns the seconds it took, or nil.
    static func within(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Double? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(seconds) {
            if try await condition() { return (ContinuousClock.now - start).milliseconds / 1000 }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test("logout on the login host ends both relying parties' sessions within 2 s")
    func logoutEndsEverywhere() async throws {
        var options = TestHosts.Options()
        options.revalidateInterval = 0  // back-channel logout alone
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            _ = try await browser.navigate(TestHosts.reportsOrigin + "/")
            #expect(try await Self.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost"))
            #expect(try await Self.rpSessionAlive(browser, hosts.reportsStore, host: "reports.localhost"))
            let logout = try await Self.logOutOfLogin(browser)
            #expect(logout.status == 303)
            let elapsed = try await Self.within(2) {
                let dashboard = try await Self.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost")
                let reports = try await Self.rpSessionAlive(browser, hosts.reportsStore, host: "reports.localhost")
                return !dashboard && !reports
            }
            let seconds = try #require(elapsed, "an RP session outlived the logout by 2 s")
            print("logout → both RP sessions ended in \(String(format: "%.0f", seconds * 1000)) ms")
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 303)
            // The row goes once the relying party's 200 has come back, a moment after its
            // sessions ended: wait for that (bounded), never for a fixed time.
            let acknowledged = try await Self.within(2) { try await hosts.loginStore.pendingLogoutDeliveries().isEmpty }
            let left = try await hosts.loginStore.pendingLogoutDeliveries()
            #expect(acknowledged != nil, "a delivery was never acknowledged: \(left)")
        }
    }

    @Test("revalidation ends a session whose logout message was lost")
    func revalidationIsTheSafetyNet() async throws {
        var options = TestHosts.Options()
        options.withoutBackChannelLogout = ["dashboard"]
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            _ = try await Self.logOutOfLogin(browser)
            // Within the revalidation interval the dashboard has not asked yet.
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 200)
            hosts.clock.advance(by: 31)
            let after = try await browser.get(TestHosts.dashboardOrigin + "/")
            #expect(after.status == 303)
            #expect(try await !Self.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost"))
        }
    }

    @Test("a live login session passes revalidation and the RP session goes on")
    func revalidationKeepsLiveSessions() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            for _ in 0..<3 {
                hosts.clock.advance(by: 31)
                #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 200)
            }
        }
    }

    @Test("an idle login session times out and the relying parties hear of it")
    func loginIdleTimeout() async throws {
        var options = TestHosts.Options()
        options.loginIdleTimeout = 600
        options.revalidateInterval = 0
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let secret = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
            let lastSeen = try #require(try await hosts.loginStore.loginSession(secretHash: Secrets.hash(secret))?.lastSeen)
            // Measured from the session's own last use, not from when the test began: a
            // slow sign-in must not eat the margin.
            hosts.clock.advance(by: lastSeen.addingTimeInterval(590).timeIntervalSince(hosts.clock.now()))
            #expect(try await hosts.loginHost.reapStaleSessions() == 0)
            hosts.clock.advance(by: 20)
            #expect(try await hosts.loginHost.reapStaleSessions() == 1)
            let ended = try await Self.within(2) { try await !Self.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost") }
            #expect(ended != nil)
            #expect(try await browser.get(TestHosts.loginOrigin + "/").location == "/login")
        }
    }

    @Test("a relying party's lookups never keep the login session alive: only the person's own requests to the login host do")
    func lookupsAreNotActivity() async throws {
        var options = TestHosts.Options()
        options.loginIdleTimeout = 600
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let secret = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
            let sid = try #require(try await hosts.loginStore.loginSession(secretHash: Secrets.hash(secret))?.sid)
            let lookup = [("Authorization", "Basic " + Data("dashboard:\(hosts.secrets["dashboard"]!)".utf8).base64EncodedString())]
            for _ in 0..<3 {
                hosts.clock.advance(by: 150)
                // The relying party asks (a revalidation on a request, and a bare lookup): neither counts.
                #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 200)
                #expect(try await hosts.browser().get(TestHosts.loginOrigin + "/api/sessions/" + sid, headers: lookup).status == 200)
            }
            let stored = try #require(try await hosts.loginStore.loginSession(sid: sid))
            #expect(stored.lastSeen.timeIntervalSince(stored.authTime) < 60, "a lookup moved last_seen")
            // The person's own visit to the login host does count.
            #expect(try await browser.get(TestHosts.loginOrigin + "/").status == 200)
            let touched = try #require(try await hosts.loginStore.loginSession(sid: sid))
            #expect(touched.lastSeen.timeIntervalSince(touched.authTime) >= 450)
        }
    }

    @Test("an idle RP session times out; a used one slides")
    func rpIdleTimeout() async throws {
        var options = TestHosts.Options()
        options.rpIdleTimeout = 300
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            hosts.clock.advance(by: 200)
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 200)
            hosts.clock.advance(by: 200)
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 200)
            hosts.clock.advance(by: 301)
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 303)
        }
    }

    @Test("the sessions page ends another of your sessions, and sign out everywhere ends them all")
    func sessionsPage() async throws {
        var options = TestHosts.Options()
        options.revalidateInterval = 0
        try await TestHosts.run(options: options) { hosts in
            let laptop = try await hosts.signedInBrowser()
            let phone = try await hosts.signedInBrowser()
            let phoneSID = try await Self.loginSID(phone, hosts)
            let page = try await laptop.get(TestHosts.loginOrigin + "/")
            #expect(page.body.contains("2 active"))
            #expect(page.body.contains("this browser"))
            let csrf = try #require(HTMLForm.value("csrf", in: page.body))
            let ended = try await laptop.post(TestHosts.loginOrigin + "/sessions/end", form: [("csrf", csrf), ("sid", phoneSID)])
            #expect(ended.status == 303 && ended.location == "/")
            #expect(try await phone.get(TestHosts.loginOrigin + "/").location == "/login")
            #expect(try await Self.within(2) { try await !Self.rpSessionAlive(phone, hosts.dashboardStore, host: "dashboard.localhost") } != nil)
            #expect(try await laptop.get(TestHosts.loginOrigin + "/").status == 200)
            let everywhere = try await laptop.post(TestHosts.loginOrigin + "/sessions/end-all", form: [("csrf", csrf)])
            #expect(everywhere.location == "/login")
            #expect(try await Self.within(2) { try await !Self.rpSessionAlive(laptop, hosts.dashboardStore, host: "dashboard.localhost") } != nil)
        }
    }

    @Test("nobody can end someone else's session from the sessions page")
    func cannotEndOthersSessions() async throws {
        try await TestHosts.run { hosts in
            try await hosts.loginStore.insertUser(
                User(id: "user-bob", username: "bob", displayName: "Bob", passwordHash: await PasswordHasher(cost: 4).hash("bob-password"),
                    createdAt: Date()))
            let bob = hosts.browser()
            let bobTrace = try await bob.signIn(rpOrigin: TestHosts.dashboardOrigin, username: "bob", password: "bob-password")
            #expect(bobTrace.final.status == 200)
            let bobSID = try await Self.loginSID(bob, hosts)
            let alice = try await hosts.signedInBrowser()
            let page = try await alice.get(TestHosts.loginOrigin + "/")
            #expect(!page.body.contains(bobSID))
            let attempt = try await alice.post(
                TestHosts.loginOrigin + "/sessions/end", form: [("csrf", HTMLForm.value("csrf", in: page.body) ?? ""), ("sid", bobSID)])
            #expect(attempt.status == 303)
            #expect(try await bob.get(TestHosts.loginOrigin + "/").status == 200)
        }
    }
}

@Suite("The back-channel logout endpoint refuses what does not verify")
struct BackChannelLogoutEndpointTests {
    static func post(_ hosts: TestHosts, _ token: String?, to origin: String = TestHosts.dashboardOrigin) async throws -> HTTPExchange {
        try await hosts.browser().post(origin + "/sso/backchannel-logout", form: token.map { [("logout_token", $0)] } ?? [])
    }

    static func minter(_ hosts: TestHosts) async -> HandoffMinter {
        await HandoffMinter(issuer: TestHosts.loginOrigin, key: hosts.keyRing.active(at: hosts.clock.now()), clock: hosts.clock)
    }

    @Test("a valid logout token ends the sid's sessions once; a replay is refused")
    func validThenReplayed() async throws {
        var options = TestHosts.Options()
        options.withoutBackChannelLogout = ["dashboard", "reports"]
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let sid = try await SingleLogoutTests.loginSID(browser, hosts)
            let token = try await Self.minter(hosts).mintLogout(audience: "dashboard", sid: sid).token
            let first = try await Self.post(hosts, token)
            #expect(first.status == 200)
            #expect(try await !SingleLogoutTests.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost"))
            let replay = try await Self.post(hosts, token)
            #expect(replay.status == 400)
            #expect(replay.batonError == "token_replayed")
        }
    }

    @Test("forged, misdirected, expired, handoff-typed and missing logout tokens get 400 and end nothing")
    func refusals() async throws {
        var options = TestHosts.Options()
        options.withoutBackChannelLogout = ["dashboard", "reports"]
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let sid = try await SingleLogoutTests.loginSID(browser, hosts)
            let minter = await Self.minter(hosts)
            let good = try await minter.mintLogout(audience: "dashboard", sid: sid).token
            let parts = good.split(separator: ".").map(String.init)
            let attacker = Curve25519.Signing.PrivateKey()
            let forged = parts[0] + "." + parts[1] + "." + Base64URL.encode(try attacker.signature(for: Data((parts[0] + "." + parts[1]).utf8)))
            let forReports = try await minter.mintLogout(audience: "reports", sid: sid).token
            let handoff = try await minter.mint(audience: "dashboard", sid: sid, state: String(repeating: "s", count: 32)).token
            var cases: [(String?, String)] = [
                (forged, "token_invalid_signature"), (forReports, "token_wrong_audience"), (handoff, "token_wrong_type"),
                (nil, "token_missing"), ("x.y.z", "token_malformed"),
            ]
            let expiring = try await minter.mintLogout(audience: "dashboard", sid: sid).token
            hosts.clock.advance(by: 63)
            cases.append((expiring, "token_expired"))
            for (token, code) in cases {
                let response = try await Self.post(hosts, token)
                #expect(response.status == 400, "\(code)")
                #expect(response.batonError == code)
            }
            // Nothing ended: the session still answers (revalidation would pass too).
            #expect(try await SingleLogoutTests.rpSessionAlive(browser, hosts.dashboardStore, host: "dashboard.localhost"))
        }
    }
}

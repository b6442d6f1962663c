import BatonAttack
import BatonCore
import BatonSQLite
import BatonTestSupport
import Foundation
import Testing

/// `/sso/auth` across real sockets, asked the way nginx's `auth_request` and Caddy's
/// `forward_auth` ask it (PROTOCOL.md "Forward auth"). The proxies themselves are tested
/// by Scripts/forward_auth_test.py.
@Suite("Forward auth: /sso/auth")
struct ForwardAuthTests {
    static let auth = TestHosts.dashboardOrigin + "/sso/auth"
    static let identityHeaders = ["Baton-User", "Baton-Subject", "Baton-Name", "Baton-Email", "Baton-Groups"]

    static func signInURL(_ returnTo: String) -> String {
        TestHosts.dashboardOrigin + "/sso/start?return_to="
            + (returnTo.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")
    }

    @Test("signed in: 200, empty body, and all five identity headers with alice's values")
    func signedIn() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let response = try await browser.get(Self.auth, headers: [("X-Original-URI", "/reports?q=1")])
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(response.header("Baton-User") == "alice")
            #expect(response.header("Baton-Subject") == "user-alice")
            #expect(response.header("Baton-Name") == "Alice%20Liddell")
            #expect(response.header("Baton-Email") == "alice@example.com")
            #expect(response.header("Baton-Groups") == "staff,ops")
            #expect(response.setCookies.isEmpty)
        }
    }

    @Test("a user with no email and no groups still gets all five headers, empty, never absent")
    func emptyHeadersArePresent() async throws {
        try await TestHosts.run { hosts in
            #expect(try await hosts.loginStore.updateUser(username: "alice", displayName: nil, email: "", groups: []))
            let browser = try await hosts.signedInBrowser()
            let response = try await browser.get(Self.auth)
            #expect(response.status == 200)
            for name in Self.identityHeaders {
                #expect(response.headers(named: name).count == 1, "\(name) must be sent exactly once")
            }
            #expect(response.header("Baton-Email") == "")
            #expect(response.header("Baton-Groups") == "")
        }
    }

    @Test("every method gets the same answer, and the body is never read")
    func everyMethodAlike() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"] {
                let response = try await browser.request(method, Self.auth, form: method == "POST" ? [("x", "y")] : nil)
                #expect(response.status == 200, "\(method) answered \(response.status)")
                #expect(response.header("Baton-User") == "alice", "\(method)")
                #expect(response.setCookies.isEmpty, "\(method)")
            }
            let signedOut = hosts.browser()
            for method in ["GET", "HEAD", "POST", "DELETE", "OPTIONS"] {
                let response = try await signedOut.request(method, Self.auth)
                #expect(response.status == 401, "\(method) answered \(response.status)")
                #expect(response.header("Baton-Sign-In") == Self.signInURL("/"), "\(method)")
            }
            // A request with a large body is answered without waiting for it.
            let large = try await signedOut.request("POST", Self.auth, form: [("blob", String(repeating: "b", count: 200_000))])
            #expect(large.status == 401)
            #expect(try await signedOut.get(TestHosts.dashboardOrigin + "/healthz").status == 200)
        }
    }

    @Test("signed out: 401 with where to sign in, built from X-Forwarded-Uri, else X-Original-URI")
    func signInLocation() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let forwarded = try await browser.get(
                Self.auth, headers: [("X-Forwarded-Uri", "/reports?q=1&x=2"), ("X-Original-URI", "/other")])
            #expect(forwarded.status == 401)
            #expect(forwarded.header("Baton-Sign-In") == Self.signInURL("/reports?q=1&x=2"))
            #expect(forwarded.location == nil)
            let original = try await browser.get(Self.auth, headers: [("X-Original-URI", "/a/b?c=d")])
            #expect(original.header("Baton-Sign-In") == Self.signInURL("/a/b?c=d"))
            #expect(forwarded.setCookies.isEmpty && original.setCookies.isEmpty)
        }
    }

    @Test("an original URI that is not a local path signs in back to /")
    func hostileOriginalURIs() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            for hostile in ["//evil.example", "/\\evil", "https://evil.example", "/%2F%2Fevil.example", "evil", "/x\ty"] {
                for header in ["X-Forwarded-Uri", "X-Original-URI"] {
                    let response = try await browser.get(Self.auth, headers: [(header, hostile)])
                    #expect(response.status == 401)
                    #expect(response.header("Baton-Sign-In") == Self.signInURL("/"), "\(header): \(hostile)")
                }
            }
            // Sent twice, the header is not believed either way.
            let twice = try await browser.get(Self.auth, headers: [("X-Forwarded-Uri", "/a"), ("X-Forwarded-Uri", "//evil.example")])
            #expect(twice.header("Baton-Sign-In") == Self.signInURL("/"))
        }
    }

    @Test("redirect=1: a navigation gets a 303 to sign in; XHR, JSON and other methods get 401")
    func redirectOnlyNavigations() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            let url = Self.auth + "?redirect=1"
            let navigation = try await browser.get(url, headers: [("Accept", html), ("X-Forwarded-Uri", "/reports?q=1")])
            #expect(navigation.status == 303)
            #expect(navigation.location == Self.signInURL("/reports?q=1"))
            let head = try await browser.get(url, headers: [("Accept", html), ("X-Forwarded-Method", "HEAD")])
            #expect(head.status == 303)
            let browserNavigation = try await browser.get(url, headers: [("Accept", html), ("Sec-Fetch-Mode", "navigate")])
            #expect(browserNavigation.status == 303)
            let refusals: [[(String, String)]] = [
                [("Accept", "application/json")],
                [("Accept", "*/*"), ("X-Requested-With", "XMLHttpRequest")],
                [("Accept", html), ("X-Forwarded-Method", "POST")],
                [("Accept", html), ("X-Original-Method", "DELETE")],
                [("Accept", "text/html;q=0")],
                [("Accept", html), ("X-Requested-With", "XMLHttpRequest")],
                [("Accept", html), ("Sec-Fetch-Mode", "cors")],
                [],
            ]
            for headers in refusals {
                let response = try await browser.get(url, headers: headers)
                #expect(response.status == 401, "\(headers) answered \(response.status)")
                #expect(response.location == nil)
                #expect(response.header("Baton-Sign-In") == Self.signInURL("/"))
            }
            // Without redirect=1 even a navigation gets the 401 (nginx turns it into a redirect itself).
            #expect(try await browser.get(Self.auth, headers: [("Accept", html)]).status == 401)
        }
    }

    @Test("group parameters: a member passes, anyone else and any invalid name gets 403 not_permitted")
    func groupRules() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            #expect(try await browser.get(Self.auth + "?group=staff").status == 200)
            #expect(try await browser.get(Self.auth + "?group=admins&group=ops").status == 200)
            for query in ["group=admins", "group=Staff", "group=staff%2Cadmins", "group=", "group=" + String(repeating: "a", count: 65)] {
                let response = try await browser.get(Self.auth + "?" + query)
                #expect(response.status == 403, "\(query) answered \(response.status)")
                #expect(response.batonError == "not_permitted", "\(query)")
                #expect(response.header("Baton-User") == nil, "a refusal carries no identity")
                #expect(response.setCookies.isEmpty)
            }
        }
    }

    @Test("junk, huge and duplicated session cookies are signed out: 401, never a 5xx, never a cookie")
    func hostileCookies() async throws {
        try await TestHosts.run { hosts in
            let signedIn = try await hosts.signedInBrowser()
            let valid = try #require(await signedIn.jar.value("__Host-baton_session", host: "dashboard.localhost"))
            let browser = hosts.browser()
            let cookies = [
                "__Host-baton_session=junk", "__Host-baton_session=" + String(repeating: "A", count: 4096), "__Host-baton_session=",
                "__Host-baton_session=\(valid); __Host-baton_session=\(valid)",
                "__Host-baton_session=\(valid); __Host-baton_session=other", "__Host-baton_session=%00%0d%0a",
            ]
            let rowsBefore = try await hosts.dashboardStore.rpSessionCount()
            for cookie in cookies {
                let response = try await browser.request("GET", Self.auth, headers: [("Cookie", cookie)], sendCookies: false)
                #expect(response.status == 401, "\(cookie.prefix(60)) answered \(response.status)")
                #expect(response.setCookies.isEmpty)
            }
            // The genuine cookie, alone, still passes: the refusals above were about the cookies.
            let genuine = try await browser.request("GET", Self.auth, headers: [("Cookie", "__Host-baton_session=\(valid)")], sendCookies: false)
            #expect(genuine.status == 200)
            #expect(try await hosts.dashboardStore.rpSessionCount() == rowsBefore)
        }
    }

    @Test("an ended session is refused: after the RP's logout, and after logout on the login host")
    func endedSessions() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let cookie = try #require(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost"))
            #expect(try await browser.get(Self.auth).status == 200)
            let home = try await browser.get(TestHosts.dashboardOrigin + "/")
            let logout = try await browser.post(TestHosts.dashboardOrigin + "/logout", form: [("csrf", HTMLForm.value("csrf", in: home.body) ?? "")])
            #expect(logout.status == 303)
            let replay = try await hosts.browser().request("GET", Self.auth, headers: [("Cookie", "__Host-baton_session=\(cookie)")], sendCookies: false)
            #expect(replay.status == 401)

            let again = try await hosts.signedInBrowser(at: TestHosts.reportsOrigin)
            #expect(try await again.get(TestHosts.reportsOrigin + "/sso/auth").status == 200)
            let loginHome = try await again.get(TestHosts.loginOrigin + "/")
            _ = try await again.post(TestHosts.loginOrigin + "/logout", form: [("csrf", HTMLForm.value("csrf", in: loginHome.body) ?? "")])
            var ended = false
            for _ in 0..<100 where !ended {
                ended = try await again.get(TestHosts.reportsOrigin + "/sso/auth").status == 401
                if !ended { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(ended, "the reports session outlived the login session by 2 s")
        }
    }

    @Test("a forward-auth check never mints or burns: the used-token table and the sessions stay as they were")
    func mintsAndBurnsNothing() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let burned = try await hosts.dashboardStore.usedTokenCount()
            let sessions = try await hosts.dashboardStore.rpSessionCount()
            for _ in 0..<50 { _ = try await browser.get(Self.auth) }
            for _ in 0..<50 { _ = try await hosts.browser().get(Self.auth + "?redirect=1", headers: [("Accept", "text/html")]) }
            #expect(try await hosts.dashboardStore.usedTokenCount() == burned)
            #expect(try await hosts.dashboardStore.rpSessionCount() == sessions)
        }
    }

    @Test("a store failure is 503 store_unavailable, never a pass")
    func storeFailure() async throws {
        var options = TestHosts.Options()
        options.dashboardStoreOverride = { base in
            var store = OverridingStore(base: base)
            store.rpSession = { _ in throw StoreError("disk I/O error") }
            return store
        }
        try await TestHosts.run(options: options) { hosts in
            let response = try await hosts.browser().request(
                "GET", Self.auth, headers: [("Cookie", "__Host-baton_session=" + Secrets.random())], sendCookies: false)
            #expect(response.status == 503)
            #expect(response.batonError == "store_unavailable")
            #expect(response.header("Baton-User") == nil)
        }
    }

    @Test("allowed_groups: a person outside them gets not_permitted at sign-in, and no session")
    func allowedGroupsAtSignIn() async throws {
        var options = TestHosts.Options()
        options.dashboardAllowedGroups = ["admins"]
        try await TestHosts.run(options: options) { hosts in
            let browser = hosts.browser()
            let trace = try await browser.signIn(rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            let callback = try #require(trace.chain.first { PublicURL($0.url)?.path == "/sso/callback" })
            #expect(callback.status == 403)
            #expect(callback.batonError == "not_permitted")
            #expect(callback.setCookie("__Host-baton_session") == nil)
            #expect(try await hosts.dashboardStore.rpSessionCount() == 0)
            // reports has no such rule: the same person signs in there.
            #expect(try await browser.navigate(TestHosts.reportsOrigin + "/").status == 200)
        }
    }
}

extension RowCounting {
    func rpSessionCount() async throws -> Int { try await rowCounts()["rp_sessions"] ?? -1 }
    func usedTokenCount() async throws -> Int { try await rowCounts()["used_tokens"] ?? -1 }
}


@Suite("Unauthenticated requests write nothing")
struct UnauthenticatedWritesTests {
    @Test("a flood of /sso/start (with long return paths) leaves the relying party's database untouched, and sign-in still works")
    func signInStartWritesNothing() async throws {
        try await TestHosts.run { hosts in
            let path = hosts.directory + "/dashboard.sqlite"
            func bytes() -> [Int] {
                ["", "-wal"].map { (try? FileManager.default.attributesOfItem(atPath: path + $0)[.size] as? Int) ?? -1 }
            }
            let before = (bytes(), try await hosts.dashboardStore.rowCounts())
            let browser = hosts.browser()
            for index in 0..<200 {
                let response = try await browser.get(
                    TestHosts.dashboardOrigin + "/sso/start?return_to=" + Browser.formEncode("/" + String(repeating: "x", count: 1500) + "\(index)"))
                #expect(response.status == 303)
            }
            #expect(bytes() == before.0, "the database files changed size")
            #expect(try await hosts.dashboardStore.rowCounts() == before.1)
            // The long return path still comes back after a real sign-in.
            let long = "/reports/" + String(repeating: "y", count: 1500) + "?q=1"
            let trace = try await hosts.browser().signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password, returnTo: long)
            let callback = try #require(trace.chain.first { PublicURL($0.url)?.path == "/sso/callback" })
            #expect(callback.location == long)
        }
    }
}

import BatonAttack
import BatonTestSupport
import Foundation
import Testing

@Suite("Open-redirect attempts are refused")
struct OpenRedirectTests {
    static let callback = TestHosts.dashboardOrigin + "/sso/callback"
    static let hostileRedirectURIs = [
        "http://evil.example/sso/callback", "http://dashboard.localhost:8081/sso/callback/",
        "http://dashboard.localhost:8081/sso/other", "http://dashboard.localhost:8081/sso/../sso/callback",
        "http://dashboard.localhost:8081/sso/callback?x=1", "http://dashboard.localhost:8081/sso/callback#x",
        "http://DASHBOARD.localhost:8081/sso/callback", "http://dashboard.localhost:8081@evil.example/sso/callback",
        "//evil.example/sso/callback", "http://dashboard.localhost:8081\\@evil.example/", "http://evil.example\r\nX: y",
        "http://dashboard。localhost:8081/sso/callback", "http://reports.localhost:8082/sso/callback", "",
    ]

    @Test("a redirect_uri that is not byte-for-byte registered gets 400 and no Location, signed in or not")
    func redirectURIVariants() async throws {
        try await TestHosts.run { hosts in
            let signedIn = try await hosts.signedInBrowser()
            for browser in [hosts.browser(), signedIn] {
                for uri in Self.hostileRedirectURIs {
                    let encoded = uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                    let response = try await browser.get(
                        TestHosts.loginOrigin + "/handoff?client_id=dashboard&redirect_uri=\(encoded)&state=" + String(repeating: "s", count: 32))
                    #expect(response.status == 400, "\(uri)")
                    #expect(response.location == nil, "\(uri)")
                    #expect(response.body.contains("return address is not one registered"), "\(uri)")
                }
            }
        }
    }

    @Test("unknown clients, bad states and repeated parameters get 400 and no Location")
    func otherHandoffParameters() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let uri = Self.callback.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let good = String(repeating: "a", count: 16)
            let queries = [
                "client_id=nobody&redirect_uri=\(uri)&state=\(good)",
                "redirect_uri=\(uri)&state=\(good)",
                "client_id=dashboard&redirect_uri=\(uri)",
                "client_id=dashboard&redirect_uri=\(uri)&state=short",
                "client_id=dashboard&redirect_uri=\(uri)&state=" + String(repeating: "a", count: 257),
                "client_id=dashboard&redirect_uri=\(uri)&state=\(good)%20x",
                "client_id=dashboard&redirect_uri=\(uri)&state=\(good)%0d%0aX:y",
                "client_id=dashboard&redirect_uri=\(uri)&state=\(good)&state=\(good)",
                "client_id=dashboard&client_id=reports&redirect_uri=\(uri)&state=\(good)",
            ]
            for query in queries {
                let response = try await browser.get(TestHosts.loginOrigin + "/handoff?" + query)
                #expect(response.status == 400, "\(query)")
                #expect(response.location == nil, "\(query)")
            }
        }
    }

    @Test("return_to that is not a local path ends on / after sign-in")
    func returnToVariants() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let hostile = [
                "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example", "https://evil.example/",
                "javascript:alert(1)", "/%0d%0aSet-Cookie:x=y", "/\tx", "/%2F%2Fevil.example", "/%5Cevil.example", "evil",
            ]
            for value in hostile {
                let trace = try await browser.signIn(
                    rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password, returnTo: value)
                let redeemed = try #require(trace.chain.first { PublicURL($0.url)?.path == "/sso/callback" }, "\(value)")
                #expect(redeemed.location == "/", "\(value)")
                #expect(trace.chain.allSatisfy { $0.header("X") == nil && $0.setCookie("x") == nil }, "\(value)")
            }
            let local = try await browser.signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password,
                returnTo: "/reports?week=1")
            #expect(local.chain.first { PublicURL($0.url)?.path == "/sso/callback" }?.location == "/reports?week=1")
        }
    }

    @Test("continue on the login form only ever leads to a local path")
    func continueVariants() async throws {
        try await TestHosts.run { hosts in
            for value in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/%0d%0aX:y"] {
                let browser = hosts.browser()
                let form = try await browser.get(TestHosts.loginOrigin + "/login?continue=" + Browser.formEncode(value))
                #expect(HTMLForm.value("continue", in: form.body) == "/", "\(value)")
                let posted = try await browser.post(
                    TestHosts.loginOrigin + "/login",
                    form: [
                        ("csrf", HTMLForm.value("csrf", in: form.body) ?? ""), ("continue", value), ("username", TestHosts.username),
                        ("password", TestHosts.password),
                    ])
                #expect(posted.status == 303, "\(value)")
                #expect(posted.location == "/", "\(value)")
            }
        }
    }

    @Test("Host and X-Forwarded-Host never reach Location")
    func hostPoisoning() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let poison = [("Host", "evil.example"), ("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https")]
            let start = try await browser.request("GET", TestHosts.dashboardOrigin + "/sso/start?return_to=/", headers: poison)
            #expect(start.status == 303)
            #expect(start.location?.hasPrefix(TestHosts.loginOrigin + "/handoff?client_id=dashboard&redirect_uri=http%3A%2F%2Fdashboard.localhost%3A8081%2Fsso%2Fcallback&state=") == true)
            let handoff = try await browser.request("GET", try #require(start.location), headers: poison)
            #expect(handoff.location?.hasPrefix("/login?continue=") == true)
            #expect(!(handoff.location ?? "").contains("evil"))
        }
    }
}

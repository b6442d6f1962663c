import BatonAttack
import BatonTestSupport
import Foundation
import Testing

@Suite("Headers and cookies of PROTOCOL.md on every response")
struct SecurityHeadersTests {
    static func expectSecurityHeaders(_ response: HTTPExchange, sourceLocation: SourceLocation = #_sourceLocation) {
        let what = "\(response.method) \(response.url) → \(response.status)"
        if PublicURL(response.url)?.path == "/.well-known/jwks.json" {
            // The one public document: relying parties may cache it briefly.
            #expect(response.header("Cache-Control")?.hasPrefix("public, max-age=") == true, "\(what)", sourceLocation: sourceLocation)
        } else {
            #expect(response.header("Cache-Control") == "no-store", "\(what)", sourceLocation: sourceLocation)
        }
        #expect(response.header("Referrer-Policy") == "no-referrer", "\(what)", sourceLocation: sourceLocation)
        #expect(response.header("X-Content-Type-Options") == "nosniff", "\(what)", sourceLocation: sourceLocation)
        #expect(
            response.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true, "\(what)",
            sourceLocation: sourceLocation)
    }

    @Test("success pages, redirects, error pages and 404s all carry the security headers")
    func everyResponse() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            var responses: [HTTPExchange] = []
            for origin in [TestHosts.loginOrigin, TestHosts.dashboardOrigin, TestHosts.reportsOrigin] {
                for path in ["/", "/healthz", "/metrics", "/no-such-page", "/baton.css"] {
                    responses.append(try await browser.get(origin + path))
                }
            }
            responses.append(try await browser.get(TestHosts.loginOrigin + "/login?continue=/"))
            // The JWKS is public and cacheable (KeyRotationTests); it carries the other three headers.
            let jwks = try await browser.get(TestHosts.loginOrigin + "/.well-known/jwks.json")
            #expect(jwks.header("Cache-Control")?.hasPrefix("public, max-age=") == true)
            #expect(jwks.header("Referrer-Policy") == "no-referrer")
            #expect(jwks.header("X-Content-Type-Options") == "nosniff")
            #expect(jwks.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
            responses.append(try await browser.get(TestHosts.loginOrigin + "/handoff?client_id=nobody"))
            responses.append(try await browser.get(TestHosts.dashboardOrigin + "/sso/start?return_to=/"))
            responses.append(try await browser.get(TestHosts.dashboardOrigin + "/sso/callback"))
            responses.append(try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=x.y.z"))
            responses.append(try await browser.request("HEAD", TestHosts.dashboardOrigin + "/sso/callback"))
            responses.append(try await browser.request("OPTIONS", TestHosts.loginOrigin + "/handoff"))
            responses.append(try await hosts.browser().post(TestHosts.loginOrigin + "/login", form: [("username", "alice")]))
            for response in responses { Self.expectSecurityHeaders(response) }
            #expect(responses.contains { $0.status == 404 })
            #expect(responses.contains { $0.batonError == "token_missing" })
        }
    }

    @Test("the three __Host- cookies carry exactly the attributes PROTOCOL.md lists")
    func cookieAttributes() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let trace = try await browser.signIn(
                rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            let all = trace.chain.flatMap(\.setCookies)
            func cookie(_ name: String) throws -> [String] {
                let line = try #require(all.first { $0.hasPrefix(name + "=") && !$0.hasPrefix(name + "=;") }, "no \(name)")
                return line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            }
            for name in ["__Host-baton_state", "__Host-baton_session", "__Host-baton_login"] {
                let parts = try cookie(name)
                #expect(parts.contains("httponly"), "\(name)")
                #expect(parts.contains("secure"), "\(name)")
                #expect(parts.contains("samesite=lax"), "\(name)")
                #expect(parts.contains("path=/"), "\(name)")
                #expect(!parts.contains { $0.hasPrefix("domain") }, "\(name)")
                // At least 128 random bits: 22 or more base64url characters.
                let value = String(parts[0].split(separator: "=", maxSplits: 1)[1])
                #expect(value.count >= 22, "\(name)")
            }
            #expect(try cookie("__Host-baton_state").contains("max-age=300"))
            #expect(!(try cookie("__Host-baton_session")).contains { $0.hasPrefix("max-age") || $0.hasPrefix("expires") })
        }
    }

    @Test("stores keep only hashes of login and session cookies")
    func storesKeepHashesOnly() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let login = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
            let session = try #require(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost"))
            for (file, secret) in [("login", login), ("dashboard", session)] {
                var bytes = Data()
                for suffix in ["", "-wal"] {
                    bytes += FileManager.default.contents(atPath: hosts.directory + "/\(file).sqlite\(suffix)") ?? Data()
                }
                #expect(!bytes.isEmpty)
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) store holds a raw cookie secret")
            }
        }
    }
}

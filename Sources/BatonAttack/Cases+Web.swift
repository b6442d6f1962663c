import BatonCore
import Foundation

extension AttackSuite {
    /// Checks one `Set-Cookie` line against PROTOCOL.md.
    static func cookieVerdict(_ line: String?, maxAge: Int?) -> Verdict {
        guard let line else { return .fail("not set") }
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let value = line.split(separator: ";").first.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") } ?? ""
        var missing: [String] = []
        for attribute in ["httponly", "secure", "samesite=lax", "path=/"] where !parts.contains(attribute) { missing.append(attribute) }
        if parts.contains(where: { $0.hasPrefix("domain") }) { missing.append("no Domain") }
        if let maxAge, !parts.contains("max-age=\(maxAge)") { missing.append("Max-Age=\(maxAge)") }
        if value.count < 22 || !Base64URL.isAlphabet(value) { missing.append("128 random bits") }
        return .check(missing.isEmpty, missing.isEmpty ? "HttpOnly; Secure; SameSite=Lax; Path=/; no Domain" : "missing: " + missing.joined(separator: ", "))
    }

    static let cookieCases: [AttackCase] = {
        func fromSignIn(_ name: String, cookie: String, maxAge: Int? = nil) -> AttackCase {
            AttackCase("cookies", name) { context in
                let browser = context.browser()
                let trace = try await browser.signIn(rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
                let line = trace.chain.compactMap { $0.setCookie(cookie) }.first { !$0.hasPrefix(cookie + "=;") }
                return cookieVerdict(line, maxAge: maxAge)
            }
        }
        return [
            fromSignIn("state-cookie-attributes", cookie: "__Host-baton_state", maxAge: 300),
            fromSignIn("session-cookie-attributes", cookie: "__Host-baton_session"),
            fromSignIn("login-cookie-attributes", cookie: "__Host-baton_login"),
            fromSignIn("csrf-cookie-attributes", cookie: "__Host-baton_csrf"),
            AttackCase("cookies", "unknown-session-cookie-never-authenticates") { context in
                let browser = context.browser()
                await browser.jar.plant("__Host-baton_session", Secrets.random(), host: PublicURL(context.dashboard)!.host)
                let home = try await browser.get(context.dashboard + "/")
                return .check(home.status == 303, "the dashboard answered \(home.status)")
            },
            AttackCase("cookies", "planted-session-cookie-is-not-adopted") { context in
                let (browser, callback, _) = try await context.freshToken()
                let planted = Secrets.random()
                await browser.jar.plant("__Host-baton_session", planted, host: PublicURL(context.dashboard)!.host)
                let redeemed = try await browser.get(callback)
                let issued = await browser.jar.value("__Host-baton_session", host: PublicURL(context.dashboard)!.host)
                return .check(context.redeemed(redeemed) && issued != planted, "a new session id was issued")
            },
            AttackCase("cookies", "planted-login-cookie-is-not-adopted") { context in
                let browser = context.browser()
                let planted = Secrets.random()
                await browser.jar.plant("__Host-baton_login", planted, host: PublicURL(context.login)!.host)
                _ = try await browser.signIn(rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
                let issued = await browser.jar.value("__Host-baton_login", host: PublicURL(context.login)!.host)
                return .check(issued != nil && issued != planted, "a new login session id was issued")
            },
            AttackCase("cookies", "logout-clears-the-session-cookie") { context in
                let (browser, callback, _) = try await context.freshToken()
                guard context.redeemed(try await browser.get(callback)) else { return .fail("sign-in failed") }
                let home = try await browser.get(context.dashboard + "/")
                let logout = try await browser.post(context.dashboard + "/logout", form: [("csrf", HTMLForm.value("csrf", in: home.body) ?? "")])
                let line = logout.setCookie("__Host-baton_session") ?? ""
                return .check(line.lowercased().contains("max-age=0"), "logout sent \(line.isEmpty ? "no cookie" : line)")
            },
        ]
    }()

    static let headerCases: [AttackCase] = {
        /// `cacheable`: a public document (the JWKS) may be cached briefly instead.
        func page(
            _ name: String, cacheable: Bool = false, _ fetch: @escaping @Sendable (AttackContext) async throws -> HTTPExchange
        ) -> AttackCase {
            AttackCase("headers", name) { context in
                let response = try await fetch(context)
                var missing: [String] = []
                let cacheControl = response.header("Cache-Control") ?? ""
                let briefPublicCache = cacheControl.hasPrefix("public, max-age=") && (Int(cacheControl.dropFirst(16)) ?? 1000) <= 300
                if cacheControl != "no-store" && !(cacheable && briefPublicCache) {
                    missing.append(cacheable ? "Cache-Control: no-store or a public max-age of at most 300" : "Cache-Control: no-store")
                }
                if response.header("Referrer-Policy") != "no-referrer" { missing.append("Referrer-Policy: no-referrer") }
                if response.header("X-Content-Type-Options") != "nosniff" { missing.append("X-Content-Type-Options: nosniff") }
                if response.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") != true {
                    missing.append("CSP frame-ancestors 'none'")
                }
                return .check(
                    missing.isEmpty, missing.isEmpty ? "\(response.status): all four headers" : "\(response.status) missing: " + missing.joined(separator: ", "))
            }
        }
        return [
            page("login-form") { try await $0.browser().get($0.login + "/login") },
            page("login-form-after-wrong-password") { context in
                let browser = context.browser()
                let form = try await browser.get(context.login + "/login")
                return try await browser.post(
                    context.login + "/login",
                    form: [("csrf", HTMLForm.value("csrf", in: form.body) ?? ""), ("username", "nobody-\(Secrets.random(bytes: 6))"), ("password", "wrong-password")])
            },
            page("login-home") { try await $0.signedIn().get($0.login + "/") },
            page("login-not-found") { try await $0.browser().get($0.login + "/no-such-page") },
            page("jwks", cacheable: true) { try await $0.browser().get($0.login + "/.well-known/jwks.json") },
            page("handoff-refusal") { try await $0.browser().get($0.login + "/handoff?client_id=mallory") },
            page("handoff-token-redirect") { context in
                let browser = try await context.signedIn()
                let start = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
                return try await browser.get(start.resolvedLocation ?? context.login)
            },
            page("dashboard-home") { context in
                let (browser, callback, _) = try await context.freshToken()
                _ = try await browser.get(callback)
                return try await browser.get(context.dashboard + "/")
            },
            page("dashboard-signed-out-redirect") { try await $0.browser().get($0.dashboard + "/") },
            page("sso-start") { try await $0.browser().get($0.dashboard + "/sso/start?return_to=%2F") },
            page("callback-success") { context in
                let (browser, callback, _) = try await context.freshToken()
                return try await browser.get(callback)
            },
            page("callback-error-page") { try await $0.browser().get($0.dashboard + "/sso/callback?token=a.b.c") },
            page("callback-replay-page") { context in
                let (browser, callback, _) = try await context.freshToken()
                _ = try await browser.get(callback)
                return try await context.browser().get(callback)
            },
            page("dashboard-not-found") { try await $0.browser().get($0.dashboard + "/no-such-page") },
            page("dashboard-healthz") { try await $0.browser().get($0.dashboard + "/healthz") },
        ]
    }()
}

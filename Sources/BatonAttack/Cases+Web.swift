import BatonCore
import Foundation

extension AttackSuite {
    /// Checks one `Set-Cookie` line against PROTOCOL.md: the attributes it lists, no
    /// `Domain` (which the `__Host-` prefix forbids), `Max-Age` when given, and for
    /// session cookies a value long enough to hold 128 random bits.
    static func cookieVerdict(_ line: String?, maxAge: Int? = nil, randomBits: Bool) -> Verdict {
        guard let line else { return .fail("not set") }
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let value = line.split(separator: ";").first.map { String($0.split(separator: "=", maxSplits: 1).last ?? "") } ?? ""
        var missing: [String] = []
        for attribute in ["httponly", "secure", "samesite=lax", "path=/"] where !parts.contains(attribute) { missing.append(attribute) }
        if parts.contains(where: { $0.hasPrefix("domain") }) { missing.append("no Domain") }
        if let maxAge, !parts.contains("max-age=\(maxAge)") { missing.append("Max-Age=\(maxAge)") }
        if randomBits && !holds128Bits(value) { missing.append("128 random bits") }
        let present = "HttpOnly; Secure; SameSite=Lax; Path=/; no Domain" + (maxAge.map { "; Max-Age=\($0)" } ?? "")
        return .check(missing.isEmpty, missing.isEmpty ? present : "missing: " + missing.joined(separator: ", "))
    }

    /// True when a cookie value is long enough for 128 bits in its alphabet: 32 hex
    /// digits, or 22 characters of base64 (either alphabet, padding not counted).
    /// PROTOCOL.md names the bits, not the encoding.
    static func holds128Bits(_ value: String) -> Bool {
        if !value.isEmpty, value.allSatisfy(\.isHexDigit) { return value.count >= 32 }
        var unpadded = Substring(value)
        while unpadded.hasSuffix("=") { unpadded = unpadded.dropLast() }
        return unpadded.count >= 22
    }

    /// A sign-in through the real form, in a fresh browser; the first line that set
    /// `cookie` to a value.
    static func cookieFromSignIn(_ context: AttackContext, _ cookie: String) async throws -> String? {
        let browser = context.browser()
        let trace = try await browser.signIn(rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
        return trace.chain.compactMap { $0.setCookie(cookie) }.first { !$0.hasPrefix(cookie + "=;") }
    }

    /// `GET origin/` in a fresh browser that holds only `cookie=value`.
    static func home(_ context: AttackContext, _ origin: String, cookie: String, value: String) async throws -> HTTPExchange {
        let browser = context.browser()
        await browser.jar.plant(cookie, value, host: PublicURL(origin)!.host)
        return try await browser.get(origin + "/")
    }

    /// `home` after a logout, until `ended` holds: at once, or, with
    /// `target.replicaPropagation` > 0 (replicas behind a load balancer), asked again every
    /// 100 ms for that long. The last answer, and a note on how long it took when it was
    /// not at once.
    static func homeAfterLogout(
        _ context: AttackContext, _ origin: String, cookie: String, value: String, ended: (HTTPExchange) -> Bool
    ) async throws -> (HTTPExchange, String) {
        let started = Date()
        var after = try await home(context, origin, cookie: cookie, value: value)
        var asked = 1
        while !ended(after), Date().timeIntervalSince(started) < context.target.replicaPropagation {
            try await Task.sleep(for: .milliseconds(100))
            after = try await home(context, origin, cookie: cookie, value: value)
            asked += 1
        }
        guard asked > 1 else { return (after, "") }
        let took = Int(Date().timeIntervalSince(started) * 1000)
        let allowed = String(format: "%g", context.target.replicaPropagation)
        return (after, " (asked \(asked) times, \(took) ms after the logout; replicas allowed \(allowed) s)")
    }

    static let cookieCases: [AttackCase] = [
        AttackCase("cookies", "state-cookie-attributes") { context in
            cookieVerdict(try await cookieFromSignIn(context, "__Host-baton_state"), maxAge: 300, randomBits: false)
        },
        AttackCase("cookies", "session-cookie-attributes") { context in
            cookieVerdict(try await cookieFromSignIn(context, "__Host-baton_session"), randomBits: true)
        },
        AttackCase("cookies", "login-cookie-attributes") { context in
            cookieVerdict(try await cookieFromSignIn(context, "__Host-baton_login"), randomBits: true)
        },
        AttackCase("cookies", "unknown-session-cookie-never-authenticates") { context in
            let response = try await home(context, context.dashboard, cookie: "__Host-baton_session", value: Secrets.random())
            return .check(context.sendsToSignIn(response), "the dashboard answered \(response.status) to \(response.location ?? "nowhere")")
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
        // PROTOCOL.md: `POST /logout` "ends this RP's session". Proven on the server:
        // the old cookie, planted in a fresh browser, no longer signs in. (Clearing the
        // cookie in the browser is Baton's hardening, checked there.)
        AttackCase("cookies", "logout-ends-the-session-on-the-server") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("sign-in failed") }
            guard let old = await browser.jar.value("__Host-baton_session", host: PublicURL(context.dashboard)!.host) else {
                return .fail("no session cookie after sign-in")
            }
            let before = try await home(context, context.dashboard, cookie: "__Host-baton_session", value: old)
            guard before.status == 200 else { return .fail("before logout the session cookie did not sign a fresh browser in: \(before.status)") }
            let logout = try await context.logOut(browser, at: context.dashboard)
            let (after, took) = try await homeAfterLogout(
                context, context.dashboard, cookie: "__Host-baton_session", value: old, ended: context.sendsToSignIn)
            return .check(
                context.sendsToSignIn(after),
                "the old cookie signed in before logout (200); logout answered \(logout.status); the old cookie then answered \(after.status)"
                    + (after.status == 200 ? ": the session lives on" : " to \(after.location ?? "nowhere")") + took)
        },
        // PROTOCOL.md: the login host's `POST /logout` "ends the login session".
        AttackCase("cookies", "login-logout-ends-the-login-session") { context in
            let browser = context.browser()
            let trace = try await browser.signIn(rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
            guard trace.final.status == 200, let old = await browser.jar.value("__Host-baton_login", host: PublicURL(context.login)!.host) else {
                return .fail("sign-in failed: ended with \(trace.final.status)")
            }
            let before = try await home(context, context.login, cookie: "__Host-baton_login", value: old)
            guard before.status == 200 else { return .fail("before logout the login cookie did not sign a fresh browser in: \(before.status)") }
            let logout = try await context.logOut(browser, at: context.login)
            func signedOut(_ answer: HTTPExchange) -> Bool {
                answer.status == 303 && answer.resolvedLocation.flatMap { PublicURL($0)?.path } == "/login"
            }
            let (after, took) = try await homeAfterLogout(
                context, context.login, cookie: "__Host-baton_login", value: old, ended: signedOut)
            return .check(
                signedOut(after),
                "the old login cookie signed in before logout (200); logout answered \(logout.status); it then answered \(after.status)"
                    + (after.status == 200 ? ": the login session lives on" : " to \(after.location ?? "nowhere")") + took)
        },
    ]

    /// What one page must carry. `noStore`: PROTOCOL.md requires `Cache-Control:
    /// no-store` there (a page that sets or reads a session, carries a token, or is a
    /// rejection); the other three headers belong on every response.
    static func page(
        _ name: String, noStore: Bool, emptyBody: Bool = false,
        _ fetch: @escaping @Sendable (AttackContext) async throws -> (response: HTTPExchange, token: String?)
    ) -> AttackCase {
        AttackCase("headers", name) { context in
            let (response, token) = try await fetch(context)
            var missing = securityHeadersMissing(response)
            if noStore && response.header("Cache-Control") != "no-store" { missing.append("Cache-Control: no-store") }
            if emptyBody && !response.body.isEmpty { missing.append("an empty body") }
            if let token, response.body.contains(token) { missing.append("a page without the token") }
            let carried = noStore ? "all four headers" : "the three headers of every response"
            return .check(
                missing.isEmpty, missing.isEmpty ? "\(response.status): \(carried)" : "\(response.status) missing: " + missing.joined(separator: ", "))
        }
    }

    /// The headers PROTOCOL.md puts on every response of both hosts, when missing.
    static func securityHeadersMissing(_ response: HTTPExchange) -> [String] {
        var missing: [String] = []
        if response.header("Referrer-Policy") != "no-referrer" { missing.append("Referrer-Policy: no-referrer") }
        if response.header("X-Content-Type-Options") != "nosniff" { missing.append("X-Content-Type-Options: nosniff") }
        if response.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") != true {
            missing.append("CSP frame-ancestors 'none'")
        }
        return missing
    }

    /// Pages that read no session and carry no token: PROTOCOL.md asks only for the
    /// three headers there; Baton sends `no-store` on them too (a hardening case).
    static let pagesWithoutSession: [(name: String, fetch: @Sendable (AttackContext) async throws -> HTTPExchange)] = [
        ("login-form", { try await $0.browser().get($0.login + "/login") }),
        ("login-form-after-wrong-password", { context in
            let browser = context.browser()
            let page = try await browser.get(context.login + "/login")
            guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else {
                throw BrowserError.unexpected("no sign-in form at /login (\(page.status))")
            }
            return try await browser.submit(
                form, on: page, filling: [("username", "nobody-\(Secrets.random(bytes: 6))"), ("password", "wrong-password")])
        }),
        ("login-not-found", { try await $0.browser().get($0.login + "/no-such-page") }),
        ("handoff-refusal", { try await $0.browser().get($0.login + "/handoff?client_id=mallory") }),
        ("sso-start", { try await $0.browser().get($0.dashboard + "/sso/start?return_to=%2F") }),
        ("dashboard-not-found", { try await $0.browser().get($0.dashboard + "/no-such-page") }),
        ("dashboard-healthz", { try await $0.browser().get($0.dashboard + "/healthz") }),
    ]

    static let headerCases: [AttackCase] =
        pagesWithoutSession.map { name, fetch in page(name, noStore: false) { (try await fetch($0), nil) } } + [
            page("jwks", noStore: false) { (try await $0.browser().get($0.login + "/.well-known/jwks.json"), nil) },
            page("login-home", noStore: true) { (try await $0.signedIn().get($0.login + "/"), nil) },
            page("handoff-token-redirect", noStore: true, emptyBody: true) { context in
                let browser = try await context.signedIn()
                let start = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
                let minted = try await browser.get(start.resolvedLocation ?? context.login, crossSite: true)
                return (minted, minted.location.flatMap(Browser.token(in:)))
            },
            page("dashboard-home", noStore: true) { context in
                let (browser, callback, token) = try await context.freshToken()
                _ = try await browser.get(callback)
                return (try await browser.get(context.dashboard + "/"), token)
            },
            page("dashboard-signed-out-redirect", noStore: true) { (try await $0.browser().get($0.dashboard + "/"), nil) },
            page("callback-success", noStore: true) { context in
                let (browser, callback, token) = try await context.freshToken()
                return (try await browser.get(callback), token)
            },
            page("callback-error-page", noStore: true) { (try await $0.browser().get($0.dashboard + "/sso/callback?token=a.b.c"), nil) },
            page("callback-replay-page", noStore: true) { context in
                let (browser, callback, token) = try await context.freshToken()
                _ = try await browser.get(callback)
                return (try await context.browser().get(callback), token)
            },
        ]
}

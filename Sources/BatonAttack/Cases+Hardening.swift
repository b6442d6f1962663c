import BatonCore
import Foundation

/// Baton's hardening beyond PROTOCOL.md: what Baton chooses to do where the contract
/// is silent or allows more. Another implementation of the contract may differ here
/// and still be correct, so this group is reported apart and `--only` can leave it out.
extension AttackSuite {
    /// The group's name.
    public static let hardening = "hardening"

    static let hardeningCases: [AttackCase] = [
        // PROTOCOL.md: logout "ends this RP's session" (cookies/logout-ends-the-session-on-the-server).
        // Baton also clears the cookie, so that a browser stops sending it.
        AttackCase(hardening, "logout-clears-the-session-cookie") { context in
            let (browser, callback, _) = try await context.freshToken()
            guard context.redeemed(try await browser.get(callback)) else { return .fail("sign-in failed") }
            let logout = try await context.logOut(browser, at: context.dashboard)
            let line = logout.setCookie("__Host-baton_session") ?? ""
            return .check(line.lowercased().contains("max-age=0"), "logout sent \(line.isEmpty ? "no cookie" : line)")
        },
        // PROTOCOL.md refuses a missing or malformed `state`; two of them, each valid,
        // Baton refuses too rather than pick one.
        AttackCase(hardening, "handoff-state-repeated") { context in
            let registration = try await context.registration(of: context.dashboard)
            let browser = try await context.signedIn()
            let good = String(repeating: "s", count: 32)
            let response = try await browser.get(
                context.login + "/handoff?client_id=\(encoded(registration.clientID))&redirect_uri=\(encoded(registration.redirectURI))"
                    + "&state=\(good)&state=\(good)x")
            return .check(response.status == 400 && response.location == nil, "answered \(response.status), Location \(response.location ?? "none")")
        },
        // PROTOCOL.md says "a random state"; Baton's carries 256 bits.
        AttackCase(hardening, "state-has-128-random-bits") { context in
            let start = try await context.browser().get(context.dashboard + "/sso/start?return_to=%2F")
            let state = start.resolvedLocation.flatMap { PublicURL($0)?.queryItems.first { $0.name == "state" }?.value } ?? ""
            return .check(state.count >= 22 && Base64URL.isAlphabet(state), "the state has \(state.count) characters")
        },
        // The CSRF cookie is Baton's own (PROTOCOL.md only asks for "a CSRF token").
        AttackCase(hardening, "csrf-cookie-attributes") { context in
            cookieVerdict(try await cookieFromSignIn(context, "__Host-baton_csrf"), randomBits: true)
        },
        // The browser's own form, posted from another site: its SameSite=Lax CSRF cookie
        // stays behind, so even the right token is refused. (csrf/login-post-with-another-
        // browsers-form is the contract's login CSRF.)
        AttackCase(hardening, "cross-site-login-post-with-own-form") { context in
            let browser = context.browser()
            let page = try await browser.get(context.login + "/login")
            guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else { return .fail("no sign-in form at /login (\(page.status))") }
            let response = try await browser.submit(
                form, on: page, filling: [("username", context.target.username), ("password", context.target.password)], crossSite: true)
            return .check(
                response.status == 403 && response.setCookie("__Host-baton_login") == nil, "answered \(response.status)")
        },
        // `continue` values that are not plain paths (and `/%0d%0aX:y`, whose text
        // decodes to a header break): PROTOCOL.md wants a local path; Baton sends `/`.
        AttackCase(hardening, "login-continue-non-local-becomes-root") { context in
            var endings: [String] = []
            for (_, value) in continueValues {
                let posted = try await continueFlow(context, value)
                endings.append("\(value.debugDescription) → \(posted.location.map { $0.debugDescription } ?? "none")")
                if posted.location != "/" { return .fail(endings.joined(separator: "; ")) }
            }
            return .pass("every one became /: " + endings.joined(separator: "; "))
        },
        // Local paths that decode to another origin or a header break: PROTOCOL.md
        // lets them stay; Baton decodes once, checks again, and sends `/`.
        AttackCase(hardening, "return-to-encoded-non-local-becomes-root") { context in
            var endings: [String] = []
            for (_, value, local) in returnToValues where local {
                let (_, location) = try await returnToFlow(context, value)
                endings.append("\(value) → \(location ?? "none")")
                if location != "/" { return .fail(endings.joined(separator: "; ")) }
            }
            return .pass("every one became /: " + endings.joined(separator: "; "))
        },
        // PROTOCOL.md asks for `no-store` where a session or a token is; Baton sends it
        // on every page.
        AttackCase(hardening, "no-store-on-pages-without-a-session") { context in
            var missing: [String] = []
            for (name, fetch) in pagesWithoutSession {
                let response = try await fetch(context)
                if response.header("Cache-Control") != "no-store" { missing.append("\(name): \(response.header("Cache-Control") ?? "none")") }
            }
            return .check(
                missing.isEmpty, missing.isEmpty ? "\(pagesWithoutSession.count) pages: Cache-Control: no-store" : "not no-store: " + missing.joined(separator: ", "))
        },
        // A JWKS may be cached (PROTOCOL.md is silent); Baton keeps it to 5 minutes so
        // that a rotation reaches every relying party soon.
        AttackCase(hardening, "jwks-cached-at-most-5-minutes") { context in
            let response = try await context.browser().get(context.login + "/.well-known/jwks.json")
            let cacheControl = response.header("Cache-Control") ?? ""
            let maxAge = cacheControl.hasPrefix("public, max-age=") ? Int(cacheControl.dropFirst(16)) : nil
            return .check(
                cacheControl == "no-store" || maxAge.map { $0 <= 300 } == true, "Cache-Control: \(cacheControl.isEmpty ? "none" : cacheControl)")
        },
        // PROTOCOL.md: HEAD and OPTIONS mint, burn and redeem nothing
        // (robustness/head-and-options-never-mint-or-sign-in). Baton answers them before
        // any handler: no cookie at all, no 5xx.
        AttackCase(hardening, "head-and-options-set-no-cookie") { context in
            var problems: [String] = []
            for (method, url, response) in try await safeMethodAnswers(context)
            where response.status >= 500 || !response.setCookies.isEmpty {
                let names = response.setCookies.map { String($0.prefix { character in character != "=" }) }
                problems.append("\(method) \(PublicURL(url)!.path) → \(response.status)" + (names.isEmpty ? "" : " setting " + names.joined(separator: ", ")))
            }
            return .check(problems.isEmpty, problems.isEmpty ? "12 requests, no 5xx, no cookie" : problems.joined(separator: "; "))
        },
        // PROTOCOL.md says nothing of slow clients; Baton bounds every request.
        AttackCase(hardening, "slow-header-clients-do-not-block-sign-in") { context in
            var slow: [SlowClients] = []
            for (origin, url) in [(context.login, context.target.loginURL), (context.dashboard, context.target.dashboardURL)] {
                guard let address = PublicURL(url) else { return .fail("cannot read \(url)") }
                let port = address.authority.contains(":") ? Int(address.authority.split(separator: ":").last ?? "") : (address.scheme == "https" ? 443 : 80)
                guard let port else { return .fail("cannot tell the port of \(url)") }
                slow.append(try await SlowClients.open(count: 40, host: address.host, port: port, hostHeader: PublicURL(origin)!.authority))
            }
            for clients in slow { await clients.trickle() }
            let started = ContinuousClock.now
            let browser = context.browser()
            let trace = try await browser.signIn(rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
            let elapsed = ContinuousClock.now - started
            for clients in slow { await clients.trickle() }
            for clients in slow { await clients.close() }
            return .check(
                trace.final.status == 200 && elapsed < .seconds(10),
                "a full sign-in beside 80 slow-header connections took \(elapsed.formatted(.units(allowed: [.milliseconds]))) and ended \(trace.final.status)")
        },
    ]
}

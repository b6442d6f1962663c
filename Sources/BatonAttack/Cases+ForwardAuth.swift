import BatonCore
import Foundation

/// The `forward-auth` group: an app behind a reverse proxy (nginx `auth_request`, Caddy
/// `forward_auth`, Traefik `forwardAuth`) that asks a relying party's `/sso/auth`
/// before every request (PROTOCOL.md "Forward auth"). It runs against the proxy's
/// front, as a browser would, and needs a page of the app that shows the identity
/// headers it receives (the demo's sample app shows them on every page): each case that
/// relies on that first checks that the signed-in user's name is shown.
extension AttackSuite {
    static let htmlAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    static let forgedHeaderNames = ["Baton-User", "Baton-Subject", "Baton-Name", "Baton-Email", "Baton-Groups"]

    static let forwardAuthCases: [AttackCase] = [
        AttackCase("forward-auth", "signed-out-navigation-is-sent-to-sign-in") { context in
            let response = try await context.browser().get(context.app + "/attack/probe?q=1&x=2", headers: [("Accept", htmlAccept)])
            let expected = context.app + "/sso/start?return_to=" + encoded("/attack/probe?q=1&x=2")
            return .check(
                (300..<400).contains(response.status) && response.resolvedLocation == expected,
                "answered \(response.status) to \(response.resolvedLocation ?? "nowhere")")
        },
        AttackCase("forward-auth", "sign-in-returns-to-exactly-the-original-path") { context in
            let browser = try await context.signedIn()
            let chain = try await context.navigateApp(browser, "/attack/reports?q=1&x=2")
            let final = chain.last!
            let visited = chain.map { "\($0.status) \(PublicURL($0.url)?.target ?? $0.url)" }.joined(separator: " → ")
            return .check(
                final.status == 200 && PublicURL(final.url)?.origin == context.app && PublicURL(final.url)?.target == "/attack/reports?q=1&x=2"
                    && chain.contains { PublicURL($0.url)?.path == "/sso/callback" },
                visited)
        },
        AttackCase("forward-auth", "forged-identity-headers-never-reach-the-app") { context in
            let browser = try await context.signedInAtApp()
            let (forged, markers) = forgedHeaders()
            let response = try await browser.get(context.app + "/", headers: [("Accept", htmlAccept)] + forged)
            guard response.status == 200, response.body.contains(context.target.username) else {
                return .fail("precondition: the signed-in app page (\(response.status)) does not show \(context.target.username); point --app at a page that shows the identity headers it receives")
            }
            let leaked = markers.filter { response.body.contains($0) }
            return .check(leaked.isEmpty, leaked.isEmpty ? "none of \(forged.count) forged headers reached the app; it saw the real user" : "forged values reached the app: \(leaked.joined(separator: ", "))")
        },
        AttackCase("forward-auth", "forged-identity-headers-do-not-sign-in") { context in
            let (forged, markers) = forgedHeaders()
            var problems: [String] = []
            for accept in [htmlAccept, "application/json"] {
                let response = try await context.browser().get(context.app + "/", headers: [("Accept", accept)] + forged)
                if response.status == 200 || response.status >= 500 || markers.contains(where: response.body.contains) {
                    problems.append("Accept \(accept.prefix(16)): \(response.status)")
                }
            }
            return .check(problems.isEmpty, problems.isEmpty ? "signed out with forged headers: refused or sent to sign in" : problems.joined(separator: "; "))
        },
        AttackCase("forward-auth", "xhr-and-posts-are-never-redirected") { context in
            let browser = context.browser()
            var answers: [String] = []
            var good = true
            let probes: [(String, [(String, String)])] = [
                ("GET", [("Accept", "application/json")]),
                ("GET", [("Accept", "*/*"), ("X-Requested-With", "XMLHttpRequest")]),
                ("POST", [("Accept", htmlAccept)]),
                ("DELETE", [("Accept", htmlAccept)]),
            ]
            for (method, headers) in probes {
                let response = try await browser.request(method, context.app + "/attack/api", form: method == "POST" ? [("a", "b")] : nil, headers: headers)
                answers.append("\(method) \(headers.last!.1.prefix(16)): \(response.status)")
                if response.status != 401 { good = false }
            }
            return .check(good, answers.joined(separator: ", "))
        },
        AttackCase("forward-auth", "original-uri-headers-cannot-redirect-off-site") { context in
            var problems: [String] = []
            for header in ["X-Forwarded-Uri", "X-Original-URI"] {
                for value in ["//evil.example/", "/\\evil.example", "https://evil.example/", "/%0d%0aSet-Cookie:%20x=y"] {
                    let browser = try await context.signedIn()
                    let chain = try await context.navigateApp(browser, "/attack/start", extra: [(header, value)])
                    for hop in chain {
                        if let location = hop.resolvedLocation, let url = PublicURL(location),
                            url.origin != context.app && url.origin != context.login
                        {
                            problems.append("\(header) \(value): sent to \(location)")
                        }
                        if let location = hop.resolvedLocation, location.contains("evil") { problems.append("\(header) \(value): \(location)") }
                        if hop.setCookies.contains(where: { $0.hasPrefix("x=") }) { problems.append("\(header) \(value): header injected") }
                    }
                    if let last = chain.last, last.status == 200, PublicURL(last.url)?.origin != context.app {
                        problems.append("\(header) \(value): ended on \(last.url)")
                    }
                    // Asked directly (when the proxy exposes it), the sign-in URL's return_to is local.
                    let direct = try await context.browser().get(context.app + "/sso/auth", headers: [(header, value)])
                    if let signIn = direct.header("Baton-Sign-In"), !(returnTo(of: signIn).map(isLocalPath) ?? false) || signIn.contains("evil") {
                        problems.append("\(header) \(value): /sso/auth gave \(signIn)")
                    }
                }
            }
            return .check(problems.isEmpty, problems.isEmpty ? "8 hostile original URIs: every hop stayed on the app or the login host" : problems.joined(separator: "; "))
        },
        AttackCase("forward-auth", "junk-huge-and-duplicated-cookies-are-refused") { context in
            let valid = try await context.signedInAtApp()
            guard let cookie = await valid.jar.value("__Host-baton_session", host: PublicURL(context.app)!.host) else {
                return .fail("precondition: signing in at the app left no __Host-baton_session")
            }
            let cookies = [
                "__Host-baton_session=junk", "__Host-baton_session=" + String(repeating: "A", count: 4096),
                "__Host-baton_session=\(cookie); __Host-baton_session=\(Secrets.random())",
                "__Host-baton_session=\(Secrets.random()); __Host-baton_session=\(cookie)", "__Host-baton_session=%00",
            ]
            var problems: [String] = []
            for value in cookies {
                for accept in ["application/json", htmlAccept] {
                    let response = try await context.browser().request(
                        "GET", context.app + "/", headers: [("Accept", accept), ("Cookie", value)], sendCookies: false)
                    if response.status == 200 || response.status >= 500 { problems.append("\(value.prefix(40))…: \(response.status)") }
                }
            }
            let genuine = try await context.browser().request(
                "GET", context.app + "/", headers: [("Accept", "application/json"), ("Cookie", "__Host-baton_session=\(cookie)")], sendCookies: false)
            if genuine.status != 200 { problems.append("precondition: the genuine cookie alone answered \(genuine.status)") }
            return .check(problems.isEmpty, problems.isEmpty ? "\(cookies.count * 2) hostile cookie headers: none passed, no 5xx; the genuine one alone passes" : problems.joined(separator: "; "))
        },
        AttackCase("forward-auth", "sso-auth-never-sets-a-cookie") { context in
            let signedIn = try await context.signedInAtApp()
            var seen: [String] = []
            for browser in [signedIn, context.browser()] {
                for path in ["/sso/auth", "/sso/auth?redirect=1"] {
                    let response = try await browser.get(context.app + path, headers: [("Accept", htmlAccept)])
                    if response.status == 404 { continue }  // not exposed through this proxy: nothing to see
                    seen.append("\(response.status)")
                    if !response.setCookies.isEmpty { return .fail("\(path) answered \(response.status) with Set-Cookie \(response.setCookies)") }
                }
                // Through the proxy, the app's pages carry no Baton cookie either.
                let page = try await browser.get(context.app + "/", headers: [("Accept", htmlAccept)])
                if page.setCookies.contains(where: { $0.hasPrefix("__Host-baton_session") }) {
                    return .fail("a page of the app set __Host-baton_session")
                }
            }
            return .pass(seen.isEmpty ? "/sso/auth is not exposed; no page set a Baton cookie" : "answers \(seen.joined(separator: ", ")), none with Set-Cookie")
        },
        AttackCase("forward-auth", "an-ended-login-session-is-refused-within-2-s") { context in
            let browser = try await context.signedInAtApp(fresh: true)
            let before = try await browser.get(context.app + "/", headers: [("Accept", "application/json")])
            guard before.status == 200 else { return .fail("precondition: signed in, the app answered \(before.status)") }
            let home = try await browser.get(context.login + "/")
            guard let csrf = HTMLForm.value("csrf", in: home.body) else { return .fail("no logout form on the login host") }
            let logout = try await browser.post(context.login + "/logout", form: [("csrf", csrf)])
            guard (300..<400).contains(logout.status) else { return .fail("logout on the login host answered \(logout.status)") }
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(2) {
                let response = try await browser.get(context.app + "/", headers: [("Accept", "application/json")])
                if response.status == 401 {
                    return .pass("refused \((ContinuousClock.now - started).formatted(.units(allowed: [.milliseconds]))) after the logout")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return .fail("the app still let the session through 2 s after logout on the login host")
        },
        AttackCase("forward-auth", "a-replayed-callback-on-the-app-origin-is-refused") { context in
            let (browser, callback, _) = try await context.freshToken(at: context.app)
            let first = try await browser.get(callback)
            guard context.redeemed(first) else { return .fail("precondition: the first redemption answered \(first.status) \(first.batonError ?? "-")") }
            return context.refused(try await context.browser().get(callback), .tokenReplayed)
        },
    ]

    /// Every identity header and underscore variant a client might forge, with values
    /// that cannot occur by accident.
    static func forgedHeaders() -> (headers: [(String, String)], markers: [String]) {
        var headers: [(String, String)] = []
        var markers: [String] = []
        for name in forgedHeaderNames {
            for spelling in [name, name.replacingOccurrences(of: "-", with: "_"), name.uppercased()] {
                let marker = "forged\(Secrets.random(bytes: 6).filter(\.isLetter))"
                headers.append((spelling, name == "Baton-Groups" ? "admins,\(marker)" : marker))
                markers.append(marker)
            }
        }
        return (headers, markers)
    }

    /// The decoded `return_to` of a sign-in URL.
    static func returnTo(of signIn: String) -> String? {
        guard let query = PublicURL(signIn)?.query else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("return_to=") {
            return String(pair.dropFirst(10)).removingPercentEncoding
        }
        return nil
    }
}

extension AttackContext {
    /// The app's public origin (the forward-auth group runs only when there is one).
    var app: String { target.appOrigin ?? target.appURL ?? "" }

    /// Opens `path` on the app like a browser navigation (Accept: text/html on every hop)
    /// and follows redirects, through sign-in when the browser is signed in on the login host.
    func navigateApp(_ browser: Browser, _ path: String, extra: [(String, String)] = []) async throws -> [HTTPExchange] {
        var chain = [try await browser.get(app + path, headers: [("Accept", AttackSuite.htmlAccept)] + extra)]
        for _ in 0..<10 {
            guard let current = chain.last, (300..<400).contains(current.status), let next = current.resolvedLocation else { break }
            let crossSite = PublicURL(next)?.host != PublicURL(current.url)?.host
            chain.append(try await browser.get(next, headers: [("Accept", AttackSuite.htmlAccept)], crossSite: crossSite))
        }
        return chain
    }

    /// A browser signed in on the login host and at the app. `fresh`: through the real
    /// form, in a login session of its own (for cases that end it).
    func signedInAtApp(fresh: Bool = false) async throws -> Browser {
        let browser: Browser
        if fresh {
            browser = self.browser()
            let trace = try await browser.signIn(rpOrigin: app, username: target.username, password: target.password)
            guard PublicURL(trace.final.url)?.origin == app else {
                throw BrowserError.unexpected("signing in at the app ended at \(trace.final.url) (\(trace.final.status))")
            }
        } else {
            browser = try await signedIn()
        }
        let chain = try await navigateApp(browser, "/")
        guard let last = chain.last, last.status == 200, PublicURL(last.url)?.origin == app else {
            throw BrowserError.unexpected("signing in at the app ended with \(chain.last?.status ?? 0) at \(chain.last?.url ?? "-")")
        }
        return browser
    }
}

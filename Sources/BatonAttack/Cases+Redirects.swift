import BatonCore
import Foundation

extension AttackSuite {
    static func encoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// True when `location` is a local path as PROTOCOL.md defines one: `/x`, not
    /// `//x` or `/\x` (which browsers read as another host), no scheme, no control
    /// character.
    static func isLocalPath(_ location: String?) -> Bool {
        guard let location, location.hasPrefix("/"), !location.hasPrefix("//"), !location.hasPrefix("/\\") else { return false }
        return location.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
    }

    /// True when a response carries a header the attacker's value tried to inject:
    /// a header `X`, or a cookie `x`.
    static func injected(_ responses: [HTTPExchange]) -> Bool {
        responses.contains { response in
            response.header("X") != nil || response.setCookies.contains { $0.hasPrefix("x=") }
        }
    }

    /// The flow with `return_to=value`: `/sso/start`, `/handoff`, the callback; every
    /// response, and where the redemption ended.
    static func returnToFlow(_ context: AttackContext, _ value: String) async throws -> (responses: [HTTPExchange], location: String?) {
        let browser = try await context.signedIn()
        let start = try await browser.get(context.dashboard + "/sso/start?return_to=" + Browser.formEncode(value))
        guard let handoff = start.resolvedLocation else { throw BrowserError.unexpected("/sso/start answered \(start.status)") }
        let minted = try await browser.get(handoff, crossSite: true)
        guard let callback = minted.location else { throw BrowserError.unexpected("/handoff answered \(minted.status)") }
        let redeemed = try await browser.get(callback, crossSite: true)
        guard context.redeemed(redeemed) else {
            throw BrowserError.unexpected("the redemption answered \(redeemed.status) \(redeemed.batonError ?? "-")")
        }
        return ([start, minted, redeemed], redeemed.location)
    }

    /// `POST /login` with `continue=value` typed over the form's own; the answer.
    static func continueFlow(_ context: AttackContext, _ value: String) async throws -> HTTPExchange {
        let browser = context.browser()
        let page = try await browser.get(context.login + "/login?continue=" + Browser.formEncode(value))
        guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else {
            throw BrowserError.unexpected("no sign-in form at /login (\(page.status))")
        }
        return try await browser.submit(
            form, on: page, filling: [("continue", value), ("username", context.target.username), ("password", context.target.password)])
    }

    /// `return_to` values, and whether PROTOCOL.md calls each a local path (kept, or
    /// any other local path) or not (it "becomes `/`").
    static let returnToValues: [(name: String, value: String, local: Bool)] = [
        ("double-slash", "//evil.example", false), ("slash-backslash", "/\\evil.example", false),
        ("double-backslash", "\\\\evil.example", false), ("scheme-without-slashes", "https:evil.example", false),
        ("absolute-url", "https://evil.example/", false), ("javascript", "javascript:alert(1)", false),
        // The percent signs reach the relying party as written: a local path whose
        // text only looks like CR LF. The real control characters come next.
        ("crlf-header-injection", "/%0d%0aSet-Cookie:%20x=y", true), ("raw-crlf", "/\r\nSet-Cookie: x=y", false),
        ("tab", "/\tevil", false), ("encoded-slashes", "/%2F%2Fevil.example", true), ("encoded-backslash", "/%5Cevil.example", true),
        ("relative", "evil", false),
    ]

    /// `continue` values; PROTOCOL.md says only that `POST /login` redirects to "a path
    /// on the login host only".
    static let continueValues: [(name: String, value: String)] = [
        ("double-slash", "//evil.example"), ("slash-backslash", "/\\evil.example"), ("absolute-url", "https://evil.example/"),
        ("javascript", "javascript:alert(1)"), ("crlf", "/%0d%0aX:y"), ("raw-crlf", "/\r\nX: y"),
    ]

    static let redirectCases: [AttackCase] = {
        /// A `/handoff` request that must get a 400 page and never a redirect, signed
        /// in; `query` is built from the relying party's real registration.
        func handoff(_ name: String, _ query: @escaping @Sendable (AttackContext, AttackContext.Registration) async throws -> String) -> AttackCase {
            AttackCase("redirects", name) { context in
                let registration = try await context.registration(of: context.dashboard)
                let browser = try await context.signedIn()
                let response = try await browser.get(context.login + "/handoff?" + query(context, registration))
                return .check(response.status == 400 && response.location == nil, "answered \(response.status), Location \(response.location ?? "none")")
            }
        }
        let good = String(repeating: "s", count: 32)
        /// The registered URI split into its origin and the rest.
        @Sendable func split(_ uri: String) -> (origin: String, rest: String) {
            guard let url = PublicURL(uri) else { return (uri, "") }
            return (url.origin, String(uri.dropFirst(url.origin.count)))
        }
        let uriVariants: [(String, @Sendable (String) -> String)] = [
            ("other-host", { "http://evil.example" + split($0).rest }),
            ("other-path", { split($0).origin + "/elsewhere" }),
            ("dot-dot", { split($0).origin + "/x/.." + split($0).rest }),
            ("added-query", { $0 + ($0.contains("?") ? "&" : "?") + "next=http://evil.example" }),
            ("fragment", { $0 + "#x" }),
            ("trailing-slash", { $0 + "/" }),
            ("case-change", { split($0).origin.uppercased() + split($0).rest }),
            ("userinfo-at", { uri in uri.replacingOccurrences(of: "://", with: "://evil.example@") }),
            ("at-after-host", { split($0).origin + "@evil.example" + split($0).rest }),
            ("protocol-relative", { uri in "//" + (PublicURL(uri)?.authority ?? "") + split(uri).rest }),
            ("backslash", { split($0).origin + "\\@evil.example" + split($0).rest }),
            ("crlf", { $0 + "\r\nLocation: http://evil.example" }),
            ("unicode-dots", { split($0).origin.replacingOccurrences(of: ".", with: "。") + split($0).rest }),
            ("other-scheme", { uri in (uri.hasPrefix("https:") ? "http" + uri.dropFirst(5) : "https" + uri.dropFirst(4)) }),
            ("empty", { _ in "" }),
        ]
        let uriCases = uriVariants.map { name, make in
            handoff("redirect-uri-\(name)") { _, registration in
                "client_id=\(encoded(registration.clientID))&redirect_uri=\(encoded(make(registration.redirectURI)))&state=\(good)"
            }
        }
        @Sendable func registered(_ registration: AttackContext.Registration) -> String {
            "client_id=\(encoded(registration.clientID))&redirect_uri=\(encoded(registration.redirectURI))"
        }
        let parameterCases = [
            handoff("unknown-client") { "client_id=mallory-\(Secrets.random(bytes: 6))&redirect_uri=\(encoded($1.redirectURI))&state=\(good)" },
            handoff("missing-client") { "redirect_uri=\(encoded($1.redirectURI))&state=\(good)" },
            handoff("other-clients-redirect-uri") { context, registration in
                guard let reports = context.target.reportsOrigin else {
                    throw BrowserError.unexpected("needs --reports: no second client whose redirect_uri to borrow")
                }
                let other = try await context.registration(of: reports)
                return "client_id=\(encoded(other.clientID))&redirect_uri=\(encoded(registration.redirectURI))&state=\(good)"
            },
            handoff("state-missing") { registered($1) },
            handoff("state-15-characters") { registered($1) + "&state=\(String(repeating: "a", count: 15))" },
            handoff("state-257-characters") { registered($1) + "&state=\(String(repeating: "a", count: 257))" },
            handoff("state-with-space") { registered($1) + "&state=\(good)%20x" },
            handoff("state-with-crlf") { registered($1) + "&state=\(good)%0d%0aX:y" },
            handoff("state-with-unicode") { registered($1) + "&state=\(good)%C3%A9" },
        ]
        let returnTo = returnToValues.map { name, value, local in
            AttackCase("redirects", "return-to-\(name)") { context in
                let (responses, location) = try await returnToFlow(context, value)
                let ending = "ended at \(location.map { $0.debugDescription } ?? "none")"
                if injected(responses) { return .fail(ending + " with an injected header") }
                // PROTOCOL.md: not a local path, it "becomes /"; a local path may stay.
                if local { return .check(isLocalPath(location), ending + ", a local path") }
                return .check(location == "/", ending + (location == "/" ? ": not a local path, so /" : "; not a local path must become /"))
            }
        }
        let continuePath = continueValues.map { name, value in
            AttackCase("redirects", "login-continue-\(name)") { context in
                let posted = try await continueFlow(context, value)
                let ending = "ended at \(posted.location.map { $0.debugDescription } ?? "none") (\(posted.status))"
                return .check(
                    posted.status == 303 && isLocalPath(posted.location) && !injected([posted]),
                    ending + (injected([posted]) ? " with an injected header" : isLocalPath(posted.location) ? ", a local path" : ", not a local path"))
            }
        }
        let poisoning = [
            AttackCase("redirects", "host-header-poisoning-sso-start") { context in
                let response = try await context.browser().request(
                    "GET", context.dashboard + "/sso/start?return_to=%2F", headers: [("Host", "evil.example")])
                return hostPoisoningVerdict(response, expected: context.login + "/handoff?")
            },
            AttackCase("redirects", "x-forwarded-host-poisoning-sso-start") { context in
                let response = try await context.browser().request(
                    "GET", context.dashboard + "/sso/start?return_to=%2F",
                    headers: [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"), ("Forwarded", "host=evil.example")])
                return hostPoisoningVerdict(response, expected: context.login + "/handoff?")
            },
            AttackCase("redirects", "host-header-poisoning-handoff") { context in
                let registration = try await context.registration(of: context.dashboard)
                let browser = try await context.signedIn()
                let start = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
                guard let handoff = start.location else { return .fail("/sso/start answered \(start.status)") }
                let minted = try await browser.request(
                    "GET", handoff, headers: [("Host", "evil.example"), ("X-Forwarded-Host", "evil.example")])
                return hostPoisoningVerdict(minted, expected: registration.redirectURI)
            },
        ]
        return uriCases + parameterCases + returnTo + continuePath + poisoning
    }()

    /// A request with a hostile `Host` or `X-Forwarded-*`: PROTOCOL.md only says that
    /// absolute URLs in `Location` never come from them. A host that refuses the name
    /// (no `Location` at all) passes; one that redirects must go where its
    /// configuration says.
    static func hostPoisoningVerdict(_ response: HTTPExchange, expected prefix: String) -> Verdict {
        guard let location = response.location else { return .pass("answered \(response.status) without a Location") }
        return .check(
            location.hasPrefix(prefix) && !location.contains("evil.example"), "\(response.status) to \(String(location.prefix(80)))")
    }
}

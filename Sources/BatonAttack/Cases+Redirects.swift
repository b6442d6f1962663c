import BatonCore
import Foundation

extension AttackSuite {
    static func encoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    /// True when `location` is a path on the same host with nothing a browser could
    /// read as another origin.
    static func isLocalPath(_ location: String?) -> Bool {
        guard let location, location.hasPrefix("/"), !location.hasPrefix("//"), !location.contains("\\") else { return false }
        return location.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f }
    }

    static let redirectCases: [AttackCase] = {
        func handoff(_ name: String, _ query: @escaping @Sendable (AttackContext) -> String) -> AttackCase {
            AttackCase("redirects", name) { context in
                let browser = try await context.signedIn()
                let response = try await browser.get(context.login + "/handoff?" + query(context))
                return .check(response.status == 400 && response.location == nil, "answered \(response.status), Location \(response.location ?? "none")")
            }
        }
        let good = String(repeating: "s", count: 32)
        let uriVariants: [(String, @Sendable (String) -> String)] = [
            ("other-host", { _ in "http://evil.example/sso/callback" }),
            ("other-path", { $0 + "/sso/other" }),
            ("dot-dot", { $0 + "/sso/../sso/callback" }),
            ("added-query", { $0 + "/sso/callback?next=http://evil.example" }),
            ("fragment", { $0 + "/sso/callback#x" }),
            ("trailing-slash", { $0 + "/sso/callback/" }),
            ("case-change", { $0.uppercased() + "/sso/callback" }),
            ("userinfo-at", { origin in origin.replacingOccurrences(of: "://", with: "://evil.example@") + "/sso/callback" }),
            ("at-after-host", { $0 + "@evil.example/sso/callback" }),
            ("protocol-relative", { origin in "//" + (PublicURL(origin)?.authority ?? "") + "/sso/callback" }),
            ("backslash", { $0 + "\\@evil.example/sso/callback" }),
            ("crlf", { $0 + "/sso/callback\r\nLocation: http://evil.example" }),
            ("unicode-dots", { $0.replacingOccurrences(of: ".", with: "。") + "/sso/callback" }),
            ("other-scheme", { $0.replacingOccurrences(of: "http", with: "https") + "/sso/callback" }),
            ("empty", { _ in "" }),
        ]
        let uriCases = uriVariants.map { name, make in
            handoff("redirect-uri-\(name)") { context in
                "client_id=dashboard&redirect_uri=\(encoded(make(context.dashboard)))&state=\(good)"
            }
        }
        let parameterCases = [
            handoff("unknown-client") { "client_id=mallory&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)" },
            handoff("missing-client") { "redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)" },
            handoff("other-clients-redirect-uri") { context in
                "client_id=reports&redirect_uri=\(encoded(context.dashboard + "/sso/callback"))&state=\(good)"
            },
            handoff("state-missing") { "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))" },
            handoff("state-15-characters") {
                "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(String(repeating: "a", count: 15))"
            },
            handoff("state-257-characters") {
                "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(String(repeating: "a", count: 257))"
            },
            handoff("state-with-space") { "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)%20x" },
            handoff("state-with-crlf") { "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)%0d%0aX:y" },
            handoff("state-with-unicode") { "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)%C3%A9" },
            handoff("state-repeated") {
                "client_id=dashboard&redirect_uri=\(encoded($0.dashboard + "/sso/callback"))&state=\(good)&state=\(good)x"
            },
        ]
        let returnTo = [
            ("double-slash", "//evil.example"), ("slash-backslash", "/\\evil.example"), ("double-backslash", "\\\\evil.example"),
            ("scheme-without-slashes", "https:evil.example"), ("absolute-url", "https://evil.example/"), ("javascript", "javascript:alert(1)"),
            ("crlf-header-injection", "/%0d%0aSet-Cookie:%20x=y"), ("tab", "/\tevil"), ("encoded-slashes", "/%2F%2Fevil.example"),
            ("encoded-backslash", "/%5Cevil.example"), ("relative", "evil"),
        ].map { name, value in
            AttackCase("redirects", "return-to-\(name)") { context in
                let browser = try await context.signedIn()
                let start = try await browser.get(context.dashboard + "/sso/start?return_to=" + Browser.formEncode(value))
                guard let handoff = start.resolvedLocation else { return .fail("/sso/start answered \(start.status)") }
                let minted = try await browser.get(handoff, crossSite: true)
                guard let callback = minted.location else { return .fail("/handoff answered \(minted.status)") }
                let redeemed = try await browser.get(callback, crossSite: true)
                let injected = redeemed.header("Set-Cookie").map { $0.hasPrefix("x=") } ?? false
                return .check(
                    isLocalPath(redeemed.location) && !injected && start.header("Set-Cookie")?.hasPrefix("x=") != true,
                    "ended at \(redeemed.location ?? "none")")
            }
        }
        let continuePath = [
            ("double-slash", "//evil.example"), ("slash-backslash", "/\\evil.example"), ("absolute-url", "https://evil.example/"),
            ("javascript", "javascript:alert(1)"), ("crlf", "/%0d%0aX:y"),
        ].map { name, value in
            AttackCase("redirects", "login-continue-\(name)") { context in
                let browser = context.browser()
                let form = try await browser.get(context.login + "/login?continue=" + Browser.formEncode(value))
                let posted = try await browser.post(
                    context.login + "/login",
                    form: [
                        ("csrf", HTMLForm.value("csrf", in: form.body) ?? ""), ("continue", value),
                        ("username", context.target.username), ("password", context.target.password),
                    ])
                return .check(posted.status == 303 && isLocalPath(posted.location) && posted.location == "/", "ended at \(posted.location ?? "none") (\(posted.status))")
            }
        }
        let poisoning = [
            AttackCase("redirects", "host-header-poisoning-sso-start") { context in
                let response = try await context.browser().request(
                    "GET", context.dashboard + "/sso/start?return_to=%2F", headers: [("Host", "evil.example")])
                return .check(
                    response.location?.hasPrefix(context.login + "/handoff?") == true && !(response.location ?? "").contains("evil"),
                    "Location \(response.location ?? "none")")
            },
            AttackCase("redirects", "x-forwarded-host-poisoning-sso-start") { context in
                let response = try await context.browser().request(
                    "GET", context.dashboard + "/sso/start?return_to=%2F",
                    headers: [("X-Forwarded-Host", "evil.example"), ("X-Forwarded-Proto", "https"), ("Forwarded", "host=evil.example")])
                return .check(
                    response.location?.hasPrefix(context.login + "/handoff?") == true && !(response.location ?? "").contains("evil"),
                    "Location \(response.location ?? "none")")
            },
            AttackCase("redirects", "host-header-poisoning-handoff") { context in
                let browser = try await context.signedIn()
                let start = try await browser.get(context.dashboard + "/sso/start?return_to=%2F")
                guard let handoff = start.location else { return .fail("/sso/start answered \(start.status)") }
                let minted = try await browser.request(
                    "GET", handoff, headers: [("Host", "evil.example"), ("X-Forwarded-Host", "evil.example")])
                return .check(
                    minted.location?.hasPrefix(context.dashboard + "/sso/callback?token=") == true, "Location \(String(minted.location?.prefix(60) ?? "none"))")
            },
        ]
        return uriCases + parameterCases + returnTo + continuePath + poisoning
    }()
}

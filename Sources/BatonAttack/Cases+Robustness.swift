import BatonCore
import Foundation

extension AttackSuite {
    static let robustnessCases: [AttackCase] = [
        AttackCase("robustness", "500-bad-tokens-then-a-good-flow") { context in
            let browser = context.browser()
            let garbage = [
                "x", "a.b.c", String(repeating: "A", count: 300) + "..", "eyJhbGciOiJub25lIn0.e30.", Secrets.random(bytes: 90),
                "%00%01", "....", "a.b.c.d.e",
            ]
            // Each child reports (5xx answers, failed health checks).
            let (errors, unhealthy) = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        var errors = 0
                        for index in 0..<50 {
                            let response = try await context.redeem(browser.freshProfile(), token: garbage[(worker + index) % garbage.count])
                            if response.status >= 500 { errors += 1 }
                        }
                        return (errors, 0)
                    }
                }
                group.addTask {
                    var unhealthy = 0
                    for _ in 0..<20 where try await browser.freshProfile().get(context.dashboard + "/healthz").status != 200 {
                        unhealthy += 1
                    }
                    return (0, unhealthy)
                }
                return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
            }
            let (good, callback, _) = try await context.freshToken()
            let redeemed = try await good.get(callback)
            return .check(
                errors == 0 && unhealthy == 0 && context.redeemed(redeemed),
                "\(errors) 5xx among 500 bad tokens, \(unhealthy) failed /healthz, then a good redemption answered \(redeemed.status)")
        },
        AttackCase("robustness", "healthz-on-every-host") { context in
            var statuses: [String] = []
            for origin in [context.login, context.dashboard] + (context.target.reportsOrigin.map { [$0] } ?? []) {
                statuses.append("\(PublicURL(origin)!.host) \(try await context.browser().get(origin + "/healthz").status)")
            }
            return .check(statuses.allSatisfy { $0.hasSuffix("200") }, statuses.joined(separator: ", "))
        },
        AttackCase("robustness", "head-and-options-never-mint-or-sign-in") { context in
            // PROTOCOL.md: HEAD or OPTIONS on any path "never redeems, mints or burns
            // anything". The answer itself is the host's to choose, short of a crash.
            var problems: [String] = []
            for (method, url, response) in try await safeMethodAnswers(context) {
                let minted = (response.location ?? "").contains("token=")
                let signedIn = ["__Host-baton_session", "__Host-baton_login"].contains { name in
                    response.setCookie(name).map { !$0.hasPrefix(name + "=;") } ?? false
                }
                if response.status == 500 || minted || signedIn {
                    problems.append("\(method) \(PublicURL(url)!.path) → \(response.status)\(minted ? " with a token" : "")\(signedIn ? " and a session" : "")")
                }
            }
            return .check(problems.isEmpty, problems.isEmpty ? "12 requests: no token minted, no session, no 500" : problems.joined(separator: "; "))
        },
        AttackCase("robustness", "repeated-sign-in-failures-get-429") { context in
            // PROTOCOL.md `POST /login`: "repeated failures get 429". Against a username
            // nobody has, so no person is locked out; then the real user still signs in.
            let username = "attack-throttle-" + Secrets.random(bytes: 6)
            var statuses: [Int] = []
            for _ in 0..<20 {
                let browser = context.browser()
                let page = try await browser.get(context.login + "/login")
                guard let form = HTMLForm.signIn(in: page.body, pageURL: page.url) else {
                    return .fail("precondition: no sign-in form at /login (\(page.status))")
                }
                let posted = try await browser.submit(form, on: page, filling: [("username", username), ("password", "wrong-password")])
                statuses.append(posted.status)
                if posted.status == 429 || posted.status == 303 { break }
            }
            let real = try await context.browser().signIn(
                rpOrigin: context.dashboard, username: context.target.username, password: context.target.password)
            return .check(
                statuses.last == 429 && real.final.status == 200,
                "\(statuses.count) wrong passwords answered \(statuses.map(String.init).joined(separator: " ")); then \(context.target.username) signed in: \(real.final.status)")
        },
        AttackCase("robustness", "sso-auth-group-rule-fails-closed") { context in
            // PROTOCOL.md "Forward auth": a live session whose person is in none of the
            // `group` parameters is 403 not_permitted, and "a group parameter that is not a
            // valid group name is refused the same way".
            let (browser, callback, _) = try await context.freshToken()
            let redeemed = try await browser.get(callback)
            guard context.redeemed(redeemed) else { return .fail("precondition: the redemption answered \(redeemed.status)") }
            let plain = try await browser.get(context.dashboard + "/sso/auth")
            guard plain.status == 200 else { return .fail("precondition: /sso/auth with the session answered \(plain.status)") }
            let outsider = try await browser.get(context.dashboard + "/sso/auth?group=attack-" + Secrets.random(bytes: 6))
            let invalid = try await browser.get(context.dashboard + "/sso/auth?group=a%2Fb")
            let refused = [outsider, invalid].allSatisfy { $0.status == 403 && $0.batonError == BatonError.notPermitted.code }
            return .check(
                refused && outsider.header("Baton-User") == nil,
                "a group the person is not in answered \(outsider.status) \(outsider.batonError ?? "-"), an invalid group name \(invalid.status) \(invalid.batonError ?? "-")")
        },
    ]

    /// HEAD and OPTIONS on every kind of page, signed in: the login host's pages, a
    /// `/handoff` that would mint, the relying party's pages and a callback.
    static func safeMethodAnswers(_ context: AttackContext) async throws -> [(method: String, url: String, response: HTTPExchange)] {
        let browser = try await context.signedIn()
        let start = try await context.browser().get(context.dashboard + "/sso/start?return_to=%2F")
        let handoff = start.resolvedLocation ?? context.login + "/handoff"
        let paths = [
            context.login + "/", context.login + "/login", handoff,
            context.dashboard + "/", context.dashboard + "/sso/start", context.dashboard + "/sso/callback?token=a.b.c",
        ]
        var answers: [(String, String, HTTPExchange)] = []
        for url in paths {
            for method in ["HEAD", "OPTIONS"] {
                answers.append((method, url, try await browser.request(method, url, crossSite: url == handoff)))
            }
        }
        return answers
    }
}

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

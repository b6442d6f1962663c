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
        AttackCase("robustness", "slow-header-clients-do-not-block-sign-in") { context in
            var slow: [SlowClients] = []
            for (origin, url) in [(context.login, context.target.loginURL), (context.dashboard, context.target.dashboardURL)] {
                guard let address = PublicURL(url), let port = Int(address.authority.split(separator: ":").last ?? "") else {
                    return .fail("cannot tell the port of \(url)")
                }
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
        AttackCase("robustness", "head-and-options-never-fail-or-mint") { context in
            let browser = try await context.signedIn()
            var problems: [String] = []
            let paths = [
                context.login + "/", context.login + "/login", context.login + "/handoff?client_id=dashboard",
                context.dashboard + "/", context.dashboard + "/sso/start", context.dashboard + "/sso/callback?token=a.b.c",
            ]
            for url in paths {
                for method in ["HEAD", "OPTIONS"] {
                    let response = try await browser.request(method, url)
                    if response.status >= 500 || (response.location ?? "").contains("token=") || !response.setCookies.isEmpty {
                        problems.append("\(method) \(PublicURL(url)!.path) → \(response.status)")
                    }
                }
            }
            return .check(problems.isEmpty, problems.isEmpty ? "12 requests, no 5xx, no redirect, no cookie" : problems.joined(separator: "; "))
        },
    ]
}

import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Synchronization
import Testing

/// The suite is only worth running if it can fail: these tests run it against
/// Baton's own hosts (all pass) and against deliberately weakened ones built here
/// (the matching cases fail).
@Suite("The attack suite, against strong and weakened hosts", .serialized)
struct AttackSuiteTests {
    /// The suite's outcomes against hosts built with `options`. First, a positive control:
    /// a person signs in on both relying parties, so a weakened host that fails the suite
    /// fails it for its weakness, not because it cannot sign anyone in at all.
    static func run(_ options: TestHosts.Options = .init(), only: Set<String>?) async throws -> [AttackOutcome] {
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let dashboard = try await browser.get(TestHosts.dashboardOrigin + "/")
            let reports = try await browser.navigate(TestHosts.reportsOrigin + "/")
            #expect(dashboard.status == 200 && dashboard.body.contains("Alice Liddell"), "positive control: the dashboard signs alice in")
            #expect(reports.status == 200 && reports.body.contains("Alice Liddell"), "positive control: reports signs alice in")
            return await AttackSuite(target: hosts.attackTarget).run(only: only) { _ in }
        }
    }

    static func failed(_ outcomes: [AttackOutcome]) -> Set<String> {
        Set(outcomes.filter { !$0.passed }.map { "\($0.group)/\($0.name)" })
    }

    /// Cases per group: the README's table says the same.
    static let expectedCounts: [String: Int] = [
        "replay": 12, "forgery": 79, "audience": 2, "csrf": 8, "redirects": 45, "cookies": 8, "headers": 15, "backchannel": 8,
        "robustness": 5, "hardening": 11, "forward-auth": 0,
    ]

    @Test("against Baton's own hosts every case passes, and every case runs")
    func strongHostsPassEverything() async throws {
        let outcomes = try await Self.run(only: nil)
        let failures = outcomes.filter { !$0.passed }.map(\.line)
        #expect(failures.isEmpty, "\(failures)")
        #expect(outcomes.count == Self.expectedCounts.values.reduce(0, +))
        // Without a proxy in front of an app, the forward-auth group is left out, not failed
        // (Scripts/forward_auth_test.py runs it against real nginx and Caddy).
        #expect(outcomes.count == AttackSuite.cases.filter { $0.group != "forward-auth" }.count)
        #expect(Dictionary(grouping: outcomes, by: \.group).mapValues(\.count) == Self.expectedCounts.filter { $0.value > 0 })
        #expect(AttackSuite.cases.filter { $0.group == "forward-auth" }.count == 10)
        #expect(Set(AttackSuite.groups) == Set(Self.expectedCounts.keys))
        #expect(Set(AttackSuite.cases.map { "\($0.group)/\($0.name)" }).count == AttackSuite.cases.count, "two cases share a name")
    }

    @Test("against ES256 hosts every forgery is refused too: forged headers carry the pinned algorithm")
    func es256HostsPassTheForgeryCases() async throws {
        var options = TestHosts.Options()
        options.signingAlgorithm = .es256
        let outcomes = try await Self.run(options, only: ["forgery"])
        let failures = outcomes.filter { !$0.passed }.map(\.line)
        #expect(failures.isEmpty, "\(failures)")
        #expect(outcomes.count == Self.expectedCounts["forgery"])
    }

    @Test("a relying party whose logout keeps the session on the server fails the logout case, and only the cookie check passes")
    func logoutThatKeepsTheSessionIsCaught() async throws {
        var options = TestHosts.Options()
        // The real store, except that deleting one session does nothing: a logout that
        // clears the browser's cookie but leaves the session alive on the server.
        options.dashboardStoreOverride = { base in
            var store = OverridingStore(base: base)
            store.deleteRPSession = { _ in true }
            return store
        }
        let outcomes = try await Self.run(options, only: ["cookies", "hardening"])
        let failed = Self.failed(outcomes)
        #expect(failed.contains("cookies/logout-ends-the-session-on-the-server"))
        // The browser's cookie is still cleared: a check of the cookie alone misses it.
        #expect(outcomes.contains { $0.group == "hardening" && $0.name == "logout-clears-the-session-cookie" && $0.passed })
    }

    @Test("a relying party that skips the jti burn fails the replay cases")
    func skippedBurnIsCaught() async throws {
        var options = TestHosts.Options()
        // A used-token store that never remembers a jti: the relying party skips the burn.
        options.dashboardStoreOverride = { OverridingStore.replacingBurn($0) { _, _, _ in .burned } }
        let failed = Self.failed(try await Self.run(options, only: ["replay"]))
        for name in [
            "second-redemption", "32-way-concurrent-redemption", "200-way-concurrent-redemption", "replay-from-another-browser",
            "replay-with-stolen-state-cookie", "replay-after-local-logout",
        ] {
            #expect(failed.contains("replay/\(name)"), "replay/\(name) passed against a relying party that never burns")
        }
    }

    @Test("a relying party that skips the state check fails the csrf cases")
    func skippedStateCheckIsCaught() async throws {
        var options = TestHosts.Options()
        options.dashboardRedeemer = { StatelessRedeemer(parts: $0) }
        let failed = Self.failed(try await Self.run(options, only: ["csrf"]))
        for name in [
            "no-state-cookie", "another-sign-ins-state", "attackers-token-in-a-fresh-victim-browser",
            "attackers-token-in-a-victim-mid-sign-in",
        ] {
            #expect(failed.contains("csrf/\(name)"), "csrf/\(name) passed against a relying party without a state check")
        }
    }

    @Test("a relying party that accepts any audience fails the audience cases")
    func anyAudienceIsCaught() async throws {
        var options = TestHosts.Options()
        options.dashboardRedeemer = { AnyAudienceRedeemer(parts: $0) }
        let failed = Self.failed(try await Self.run(options, only: ["audience"]))
        #expect(failed.contains("audience/reports-token-at-dashboard"))
        #expect(!failed.contains("audience/dashboard-token-at-reports"), "the reports relying party is not weakened")
    }

    @Test("the other direction: a reports relying party that accepts any audience fails the other audience case")
    func anyAudienceAtReportsIsCaught() async throws {
        var options = TestHosts.Options()
        options.reportsRedeemer = { AnyAudienceRedeemer(parts: $0) }
        let failed = Self.failed(try await Self.run(options, only: ["audience"]))
        #expect(failed.contains("audience/dashboard-token-at-reports"))
        #expect(!failed.contains("audience/reports-token-at-dashboard"), "the dashboard is not weakened")
    }

    @Test("a login host that accepts any redirect_uri fails the redirect cases")
    func anyRedirectIsCaught() async throws {
        var options = TestHosts.Options()
        options.handoffRequests = { AnyRedirectURI(registry: $0) }
        let failed = Self.failed(try await Self.run(options, only: ["redirects"]))
        let variants = [
            "other-host", "other-path", "dot-dot", "added-query", "fragment", "trailing-slash", "case-change", "userinfo-at",
            "at-after-host", "protocol-relative", "backslash", "crlf", "unicode-dots", "other-scheme", "empty",
        ]
        #expect(variants.count == 15)
        for name in variants {
            #expect(failed.contains("redirects/redirect-uri-\(name)"), "redirect-uri-\(name) passed against an open redirect")
        }
        #expect(!failed.contains("redirects/unknown-client"))
    }
}

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
    static func run(_ options: TestHosts.Options = .init(), only: Set<String>?) async throws -> [AttackOutcome] {
        try await TestHosts.run(options: options) { hosts in
            await AttackSuite(target: hosts.attackTarget).run(only: only) { _ in }
        }
    }

    static func failed(_ outcomes: [AttackOutcome]) -> Set<String> {
        Set(outcomes.filter { !$0.passed }.map { "\($0.group)/\($0.name)" })
    }

    @Test("against Baton's own hosts every case passes, and there are at least 120")
    func strongHostsPassEverything() async throws {
        let outcomes = try await Self.run(only: nil)
        #expect(outcomes.count >= 120)
        #expect(Self.failed(outcomes).isEmpty, "\(outcomes.filter { !$0.passed }.map(\.line))")
        // Without a proxy in front of an app, the forward-auth group is left out, not failed.
        #expect(Set(outcomes.map(\.group)) == Set(AttackSuite.groups).subtracting(AttackSuite.optionalGroups.keys))
    }

    @Test("a relying party that skips the jti burn fails the replay cases")
    func skippedBurnIsCaught() async throws {
        var options = TestHosts.Options()
        // A used-token store that never remembers a jti: the relying party skips the burn.
        options.dashboardStoreOverride = { BurnReplacingStore(base: $0) { _, _, _ in .burned } }
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
    }

    @Test("a login host that accepts any redirect_uri fails the redirect cases")
    func anyRedirectIsCaught() async throws {
        var options = TestHosts.Options()
        options.handoffRequests = { AnyRedirectURI(registry: $0) }
        let failed = Self.failed(try await Self.run(options, only: ["redirects"]))
        for name in ["other-host", "other-path", "dot-dot", "added-query", "trailing-slash", "userinfo-at", "protocol-relative", "crlf"] {
            #expect(failed.contains("redirects/redirect-uri-\(name)"), "redirect-uri-\(name) passed against an open redirect")
        }
        #expect(!failed.contains("redirects/unknown-client"))
    }
}

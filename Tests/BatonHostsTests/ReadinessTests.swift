import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Synchronization
import Testing

/// `GET /readyz` (PROTOCOL.md): 200 only while the store answers, for load balancers;
/// `/healthz` stays liveness.
@Suite("Readiness: /readyz")
struct ReadinessTests {
    @Test("GET and HEAD /readyz answer 200 ok on every host while the store answers; /healthz is unchanged")
    func readyWhileTheStoreAnswers() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            for origin in [TestHosts.loginOrigin, TestHosts.dashboardOrigin, TestHosts.reportsOrigin] {
                let ready = try await browser.get(origin + "/readyz")
                #expect(ready.status == 200, "\(origin)")
                #expect(ready.body == "ok\n", "\(origin)")
                #expect(ready.header("Content-Type") == "text/plain", "\(origin)")
                #expect(try await browser.request("HEAD", origin + "/readyz").status == 200, "\(origin)")
                #expect(try await browser.get(origin + "/healthz").status == 200, "\(origin)")
                #expect(try await browser.request("HEAD", origin + "/healthz").status == 200, "\(origin)")
            }
        }
    }
}

/// Whether the overriding store's probe fails, switched by the test.
final class ProbeSwitch: Sendable {
    enum Mode { case answers, fails, hangs }
    private let mode = Mutex(Mode.answers)
    func set(_ value: Mode) { mode.withLock { $0 = value } }
    func probe(_ base: any StoreProbe) async throws {
        switch mode.withLock({ $0 }) {
        case .answers: try await base.probe()
        case .fails: throw StoreError("disk I/O error")
        case .hangs: try await Task.sleep(for: .seconds(30))
        }
    }
}

extension ReadinessTests {
    @Test("a store that fails or hangs: /readyz 503 store_unavailable within ~2 s (HEAD too) while /healthz stays 200; ready again when it answers")
    func notReadyWhileTheStoreFails() async throws {
        let probes = ProbeSwitch()
        var options = TestHosts.Options()
        options.dashboardStoreOverride = { base in
            var store = OverridingStore(base: base)
            store.probeOverride = { try await probes.probe(base) }
            return store
        }
        try await TestHosts.run(options: options) { hosts in
            let browser = hosts.browser()
            let url = TestHosts.dashboardOrigin + "/readyz"
            #expect(try await browser.get(url).status == 200)
            for mode in [ProbeSwitch.Mode.fails, .hangs] {
                probes.set(mode)
                let start = ContinuousClock.now
                let refused = try await browser.get(url)
                let elapsed = ContinuousClock.now - start
                #expect(refused.status == 503, "\(mode)")
                #expect(refused.batonError == "store_unavailable", "\(mode)")
                #expect(refused.body == "store_unavailable\n", "\(mode)")
                // The probe's 2 s, and room for a machine the whole suite keeps busy.
                #expect(elapsed < .milliseconds(3000), "\(mode): \(elapsed)")
                let head = try await browser.request("HEAD", url)
                #expect(head.status == 503, "\(mode)")
                #expect(head.batonError == "store_unavailable", "\(mode)")
                #expect(try await browser.get(TestHosts.dashboardOrigin + "/healthz").status == 200, "\(mode)")
            }
            probes.set(.answers)
            #expect(try await browser.get(url).status == 200)
            #expect(try await browser.request("HEAD", url).status == 200)
            // Only GET and HEAD: a POST to /readyz probes nothing.
            #expect(try await browser.post(url, form: []).status == 404)
        }
    }
}

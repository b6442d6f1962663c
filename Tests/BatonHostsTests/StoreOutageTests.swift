import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Testing

/// PROTOCOL.md "Storage and replicas": when the store cannot be reached, every endpoint
/// that needs it answers 503 `store_unavailable` within 5 s, never a success, and the
/// host recovers by itself. Here the store is a real SQLite file whose write lock another
/// connection holds for longer than that.
@Suite("A store that does not answer")
struct StoreOutageTests {
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test("a redemption while another connection holds the write lock: 503 store_unavailable within 5 s; once released, it redeems")
    func redemptionUnderAHeldLock() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let lock = try WriteLockHolder(path: hosts.directory + "/dashboard.sqlite")
            let start = ContinuousClock.now
            let refused: HTTPExchange
            do {
                refused = try await browser.get(callback)
            } catch {
                try lock.release()
                throw error
            }
            let elapsed = Self.seconds(since: start)
            try lock.release()
            #expect(refused.status == 503)
            #expect(refused.batonError == "store_unavailable")
            #expect(refused.setCookie("__Host-baton_session") == nil)
            #expect(elapsed < 5, "answered after \(elapsed) s")

            let again = try await browser.get(try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin))
            #expect(again.status == 303)
            #expect(again.setCookie("__Host-baton_session") != nil)
        }
    }

    @Test("a sign-in while another connection holds the login store's write lock: 503 within 5 s; once released, it signs in")
    func signInUnderAHeldLock() async throws {
        try await TestHosts.run { hosts in
            let browser = hosts.browser()
            let lock = try WriteLockHolder(path: hosts.directory + "/login.sqlite")
            let start = ContinuousClock.now
            let trace: Browser.Trace
            do {
                trace = try await browser.signIn(rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            } catch {
                try lock.release()
                throw error
            }
            let elapsed = Self.seconds(since: start)
            try lock.release()
            #expect(trace.final.status == 503)
            #expect(trace.final.batonError == "store_unavailable")
            #expect(trace.final.setCookie("__Host-baton_login") == nil)
            #expect(elapsed < 5, "answered after \(elapsed) s")

            let retried = try await browser.signIn(rpOrigin: TestHosts.dashboardOrigin, username: TestHosts.username, password: TestHosts.password)
            #expect(retried.final.status == 200)
            #expect(retried.final.body.contains("Alice Liddell"))
        }
    }

    @Test("a store that fails after a 3 s wait: the redemption waits once, answering 503 within 5 s, not once per write")
    func oneWaitPerRedemption() async throws {
        var options = TestHosts.Options()
        // The real store, except that every burn waits as a busy lock would, then fails.
        options.dashboardStoreOverride = { base in
            OverridingStore.replacingBurn(base) { _, _, _ in
                try await Task.sleep(for: .seconds(3))
                throw StoreError("database is locked")
            }
        }
        try await TestHosts.run(options: options) { hosts in
            let browser = try await hosts.signedInBrowser(at: TestHosts.reportsOrigin)
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            let start = ContinuousClock.now
            let refused = try await browser.get(callback)
            let elapsed = Self.seconds(since: start)
            #expect(refused.status == 503)
            #expect(refused.batonError == "store_unavailable")
            #expect(elapsed < 5, "answered after \(elapsed) s")
        }
    }
}

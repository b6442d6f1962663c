import BatonAttack
import BatonCore
import BatonServer
import BatonTestSupport
import BatonWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("/metrics: the token, and values that move")
struct MetricsTests {
    /// The value of `series` (`name{labels}` exactly as exposed) in `body`; 0 when absent.
    static func value(_ body: String, _ series: String) -> Double {
        for line in body.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1)) ?? .nan
        }
        return 0
    }

    static func scrape(_ hosts: TestHosts, _ origin: String) async throws -> String {
        let response = try await hosts.browser().get(origin + "/metrics", headers: TestHosts.metricsAuthorization)
        #expect(response.status == 200)
        return response.body
    }

    @Test("without the metrics token, with a wrong one or another scheme: 401 with WWW-Authenticate: Bearer, on every host")
    func tokenRequired() async throws {
        try await TestHosts.run { hosts in
            for origin in [TestHosts.loginOrigin, TestHosts.dashboardOrigin, TestHosts.reportsOrigin] {
                let refusals: [[(String, String)]] = [
                    [], [("Authorization", "Bearer " + TestHosts.metricsToken + "x")], [("Authorization", "Bearer ")],
                    [("Authorization", "Basic " + Data(TestHosts.metricsToken.utf8).base64EncodedString())],
                    [("Authorization", "Bearer " + String(TestHosts.metricsToken.dropLast()))],
                    TestHosts.metricsAuthorization + TestHosts.metricsAuthorization,
                ]
                for headers in refusals {
                    let response = try await hosts.browser().get(origin + "/metrics", headers: headers)
                    #expect(response.status == 401, "\(origin) \(headers.map(\.1))")
                    #expect(response.header("WWW-Authenticate") == "Bearer")
                    #expect(!response.body.contains("baton_"))
                }
                let body = try await Self.scrape(hosts, origin)
                #expect(Self.value(body, "process_resident_memory_bytes") > 1_000_000)
                #expect(Self.value(body, "process_open_fds") > 3)
            }
        }
    }

    @Test("a host without metrics_token answers 404 at /metrics, as at any unknown path")
    func noTokenNoMetrics() async throws {
        let endpoint = MetricsEndpoint(metrics: HostMetrics(), token: nil)
        let router = Router()
        router.get("/metrics") { request, _ in try await endpoint.response(request) }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer anything-at-all-0123456789abcdef"]) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test("a handoff, a replay and a refusal each move their series by one")
    func valuesMove() async throws {
        try await TestHosts.run { hosts in
            let browser = try await hosts.signedInBrowser()
            await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
            let loginBefore = try await Self.scrape(hosts, TestHosts.loginOrigin)
            let before = try await Self.scrape(hosts, TestHosts.dashboardOrigin)
            let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
            #expect(try await browser.get(callback).status == 303)
            #expect(try await hosts.browser().get(callback).batonError == "token_replayed")
            #expect(try await hosts.browser().get(TestHosts.dashboardOrigin + "/sso/callback?token=a.b.c").batonError == "token_malformed")
            let after = try await Self.scrape(hosts, TestHosts.dashboardOrigin)
            let loginAfter = try await Self.scrape(hosts, TestHosts.loginOrigin)
            func moved(_ series: String, _ old: String = before, _ new: String = after) -> Double {
                Self.value(new, series) - Self.value(old, series)
            }
            #expect(moved(#"baton_redemptions_total{result="ok"}"#) == 1)
            #expect(moved(#"baton_redemptions_total{result="token_replayed"}"#) == 1)
            #expect(moved(#"baton_redemptions_total{result="token_malformed"}"#) == 1)
            #expect(moved(#"baton_replays_total{token="handoff"}"#) == 1)
            #expect(moved("baton_redemption_duration_seconds_count") == 3)
            #expect(moved(#"baton_backchannel_lookups_total{result="ok"}"#) == 1)
            #expect(moved(#"baton_store_operations_total{operation="burn_creating_session"}"#) == 1)
            #expect(moved(#"baton_store_operation_duration_seconds_count{operation="burn_creating_session"}"#) == 1)
            #expect(moved(#"baton_handoffs_minted_total{client_id="dashboard"}"#, loginBefore, loginAfter) == 1)
            #expect(moved("baton_mint_duration_seconds_count", loginBefore, loginAfter) == 1)
            #expect(moved(#"baton_backchannel_lookups_total{result="answered"}"#, loginBefore, loginAfter) == 1)
            // No token, cookie or session handle in any label.
            let token = try #require(Browser.token(in: callback))
            let cookies = await [browser.jar.value("__Host-baton_session", host: "dashboard.localhost"),
                browser.jar.value("__Host-baton_login", host: "login.localhost")].compactMap { $0 }
            for secret in [token] + cookies + token.split(separator: ".").map(String.init) {
                #expect(!after.contains(secret) && !loginAfter.contains(secret))
            }
        }
    }
}

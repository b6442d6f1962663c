import BatonAttack
import BatonCore
import BatonServer
import BatonTestSupport
import BatonWeb
import Foundation
import HTTPTypes
import NIOCore
import NIOPosix
import Testing

/// `/sso/auth` answered on the connection's event loop (``InlineResponder``) when the
/// session is in the gate's cache: the same answer as the router's, in order on a
/// pipelined connection, counted in the same metrics, and under the same connection
/// rules. Raw sockets, so that every byte of the exchange is the test's.
@Suite("Forward auth: answered on the event loop")
struct InlineForwardAuthTests {
    static func check(cookie: String, extra: String = "") -> String {
        "GET /sso/auth?group=staff HTTP/1.1\r\nHost: dashboard.localhost:8081\r\nX-Original-URI: /reports?q=1\r\n"
            + "Cookie: __Host-baton_session=\(cookie)\r\n\(extra)\r\n"
    }

    /// Caches that outlive every test's steps: whether a request is answered inline then
    /// depends on the rules alone, not on how busy the machine is.
    static var options: TestHosts.Options {
        var options = TestHosts.Options()
        options.sessionCacheLifetime = .seconds(120)
        return options
    }

    /// A signed-in session's cookie, read once through `/sso/auth` so that the gate holds it.
    static func cachedSession(_ hosts: TestHosts) async throws -> String {
        let browser = try await hosts.signedInBrowser()
        let cookie = try #require(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost"))
        #expect(try await browser.get(TestHosts.dashboardOrigin + "/sso/auth").status == 200)
        return cookie
    }

    @Test("the inline answer is the router's answer: same status and headers but Date; Connection: close goes to the router")
    func sameAnswer() async throws {
        try await TestHosts.run(options: Self.options) { hosts in
            let cookie = try await Self.cachedSession(hosts)
            let client = try await RawClient.connect(port: hosts.ports["dashboard"]!)
            defer { Task { await client.close() } }
            let before = hosts.inlineAnswers["dashboard"]!.value
            let inline = try #require(try await client.exchange(Self.check(cookie: cookie)).first)
            #expect(hosts.inlineAnswers["dashboard"]!.value == before + 1, "the first check was answered inline")
            let routed = try #require(try await client.exchange(Self.check(cookie: cookie, extra: "Connection: close\r\n")).first)
            #expect(hosts.inlineAnswers["dashboard"]!.value == before + 1, "a Connection: close check goes to the router")
            #expect(inline.status == 200)
            #expect(inline.header("Baton-User") == "alice")
            #expect(inline.header("Baton-Groups") == "staff,ops")
            #expect(inline.header("Cache-Control") == "no-store")
            #expect(inline.header("Date") != nil)
            #expect(routed.status == inline.status)
            #expect(routed.lines(except: ["date"]) == inline.lines(except: ["date"]))
            #expect(routed.body.isEmpty && inline.body.isEmpty)
        }
    }

    @Test("pipelined behind a request the router answers, the check's answer comes second")
    func pipelinedOrder() async throws {
        try await TestHosts.run(options: Self.options) { hosts in
            let cookie = try await Self.cachedSession(hosts)
            let client = try await RawClient.connect(port: hosts.ports["dashboard"]!)
            defer { Task { await client.close() } }
            let before = hosts.inlineAnswers["dashboard"]!.value
            // The router's /healthz, then three checks, in one write.
            let healthz = "GET /healthz HTTP/1.1\r\nHost: dashboard.localhost:8081\r\n\r\n"
            let responses = try await client.exchange(
                healthz + Self.check(cookie: cookie) + Self.check(cookie: cookie) + Self.check(cookie: cookie), count: 4)
            #expect(responses.map(\.status) == [200, 200, 200, 200])
            #expect(responses.first?.body == "ok\n", "the first answer is /healthz's")
            #expect(responses.dropFirst().allSatisfy { $0.header("Baton-User") == "alice" })
            // Behind a request that went to the router, the next ones go there too.
            #expect(hosts.inlineAnswers["dashboard"]!.value == before)
            // Once it has answered, the connection's next check is answered inline again.
            #expect(try await client.exchange(Self.check(cookie: cookie)).first?.status == 200)
            #expect(hosts.inlineAnswers["dashboard"]!.value == before + 1)
        }
    }

    @Test("a check with a body, an unknown cookie or a failing group rule goes to the router and gets its answer")
    func otherChecksGoToTheRouter() async throws {
        try await TestHosts.run(options: Self.options) { hosts in
            let cookie = try await Self.cachedSession(hosts)
            let client = try await RawClient.connect(port: hosts.ports["dashboard"]!)
            defer { Task { await client.close() } }
            let before = hosts.inlineAnswers["dashboard"]!.value
            let withBody = try await client.exchange(Self.check(cookie: cookie, extra: "Content-Length: 5\r\n") + "hello")
            #expect(withBody.first?.status == 200)
            #expect(withBody.first?.header("Baton-User") == "alice")
            let unknown = try await client.exchange(Self.check(cookie: Secrets.random()))
            #expect(unknown.first?.status == 401)
            let group = "GET /sso/auth?group=finance HTTP/1.1\r\nHost: dashboard.localhost:8081\r\nCookie: __Host-baton_session=\(cookie)\r\n\r\n"
            let refused = try await client.exchange(group)
            #expect(refused.first?.status == 403)
            #expect(refused.first?.header("Baton-Error") == "not_permitted")
            #expect(hosts.inlineAnswers["dashboard"]!.value == before)
            // The same connection's next check is answered inline.
            #expect(try await client.exchange(Self.check(cookie: cookie)).first?.status == 200)
            #expect(hosts.inlineAnswers["dashboard"]!.value == before + 1)
        }
    }

    @Test("inline answers are counted in baton_forward_auth_checks_total like the router's")
    func counted() async throws {
        try await TestHosts.run(options: Self.options) { hosts in
            let cookie = try await Self.cachedSession(hosts)
            let metrics = hosts.browser()
            func okCount() async throws -> Double? {
                let page = try await metrics.get(TestHosts.dashboardOrigin + "/metrics", headers: TestHosts.metricsAuthorization)
                return page.body.split(separator: "\n").first { $0.hasPrefix("baton_forward_auth_checks_total{result=\"ok\"}") }
                    .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            }
            let client = try await RawClient.connect(port: hosts.ports["dashboard"]!)
            defer { Task { await client.close() } }
            let counted = try #require(try await okCount())
            let before = hosts.inlineAnswers["dashboard"]!.value
            for _ in 0..<5 { #expect(try await client.exchange(Self.check(cookie: cookie)).first?.status == 200) }
            #expect(hosts.inlineAnswers["dashboard"]!.value == before + 5, "all five were answered inline")
            #expect(try await okCount() == counted + 5)
        }
    }

    /// An inline answer for `/probe`, always 204, counting what it answered.
    static func probe(_ count: TestHosts.InlineAnswerCount) -> (path: String, answer: InlineResponder.Answer) {
        ("/probe", { _ in
            count.add()
            return HTTPResponse(status: .noContent, headerFields: [.contentLength: "0"])
        })
    }

    /// A login host answering `/probe` inline (``probe(_:)``) and one connection to it,
    /// for `body`; both end with it.
    static func withProbe(
        idleTimeout: Duration = .seconds(30), _ body: @Sendable (RawClient, TestHosts.InlineAnswerCount) async throws -> Void
    ) async throws {
        let count = TestHosts.InlineAnswerCount()
        try await ConnectionLimitTests.serve(idleTimeout: idleTimeout, inline: probe(count)) { port in
            let client = try await RawClient.connect(port: port)
            defer { Task { await client.close() } }
            try await body(client, count)
        }
    }

    static let probeRequest = "GET /probe HTTP/1.1\r\nHost: login.localhost:8080\r\n\r\n"

    @Test("a connection busy with inline answers only is not closed by the idle timeout; an idle one is")
    func idleTimeoutSeesInlineAnswers() async throws {
        try await Self.withProbe(idleTimeout: .milliseconds(2500)) { client, count in
            // 6 s of answers, one every 250 ms: over twice the idle timeout.
            for _ in 0..<24 {
                #expect(try await client.exchange(Self.probeRequest).first?.status == 204)
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(client.isOpen, "the busy connection was closed")
            #expect(count.value == 24, "every answer was inline")
            #expect(await client.waitUntilClosed(within: .seconds(8)) != nil, "the idle connection was never closed")
        }
    }

    @Test("inline answers and the router's, pipelined in one write, come back in order")
    func pipelinedWithTheRouter() async throws {
        try await Self.withProbe { client, count in
            let healthz = "GET /healthz HTTP/1.1\r\nHost: login.localhost:8080\r\n\r\n"
            let responses = try await client.exchange(
                Self.probeRequest + healthz + Self.probeRequest + healthz + Self.probeRequest, count: 5)
            // Only the first /probe is answered inline; the others came behind a request the
            // router had not answered yet, so the router answers them too (404), in order.
            #expect(responses.map(\.status) == [204, 200, 404, 200, 404])
            #expect(count.value == 1)
            // Once the router is done, the next /probe on the connection is inline again.
            #expect(try await client.exchange(Self.probeRequest).first?.status == 204)
            #expect(count.value == 2)
        }
    }

    /// NIO's HTTP decoder (llhttp) already yields nothing after a request that asks to
    /// close, so this holds without ``InlineResponder``'s own `closing` flag too (checked:
    /// it passes with the flag removed); `InlineResponderTests` pins the flag itself.
    @Test("behind a request that asks to close the connection nothing more is answered, inline or not")
    func nothingAfterClose() async throws {
        try await Self.withProbe { client, count in
            let closing = "GET /healthz HTTP/1.1\r\nHost: login.localhost:8080\r\nConnection: close\r\n\r\n"
            // Pipelined behind it, and then sent after its answer, while the server has only
            // closed its side of the connection.
            let responses = try await client.exchange(closing + Self.probeRequest, count: 2)
            #expect(responses.map(\.status) == [200])
            try? await client.send(Self.probeRequest)
            try await Task.sleep(for: .milliseconds(300))
            #expect(RawResponse.parse(client.receivedText).count == 1, "an answer came after the close")
            #expect(count.value == 0)
        }
    }

    @Test("a request for another path, or one only starting with the inline path, goes to the router")
    func otherPathsGoToTheRouter() async throws {
        try await Self.withProbe { client, count in
            for path in ["/probes", "/probe/x", "/healthz", "/probe?x=1"] {
                _ = try await client.exchange("GET \(path) HTTP/1.1\r\nHost: login.localhost:8080\r\n\r\n")
            }
            #expect(count.value == 1, "only /probe?x=1 is /probe")
        }
    }
}

/// One HTTP/1.1 response as a ``RawClient`` received it.
struct RawResponse {
    let status: Int
    /// Header fields in order, names lowercased.
    let fields: [(name: String, value: String)]
    let body: String

    func header(_ name: String) -> String? {
        fields.first { $0.name == name.lowercased() }?.value
    }

    /// `name: value` for every field but those named in `except`, in order.
    func lines(except names: Set<String>) -> [String] {
        fields.filter { !names.contains($0.name) }.map { "\($0.name): \($0.value)" }
    }

    /// The complete responses at the start of `text` (a body by `Content-Length` only).
    static func parse(_ text: String) -> [RawResponse] {
        var responses: [RawResponse] = []
        var rest = Substring(text)
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "), let status = Int(statusLine.dropFirst(9).prefix(3)) else {
                break
            }
            let fields = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            let length = fields.first { $0.name == "content-length" }.flatMap { Int($0.value) } ?? 0
            let bodyStart = end.upperBound
            guard rest.utf8.distance(from: bodyStart, to: rest.endIndex) >= length else { break }
            let bodyEnd = rest.utf8.index(bodyStart, offsetBy: length)
            responses.append(RawResponse(status: status, fields: fields, body: String(rest[bodyStart..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        return responses
    }
}

extension RawClient {
    /// Sends `text` and returns the first `count` complete responses received after it,
    /// or fewer if they did not all come within 5 s.
    func exchange(_ text: String, count: Int = 1) async throws -> [RawResponse] {
        let before = receivedText.utf8.count
        try await send(text)
        var responses: [RawResponse] = []
        for _ in 0..<500 {
            responses = RawResponse.parse(String(receivedText.utf8.dropFirst(before))!)
            if responses.count >= count || !isOpen { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return Array(responses.prefix(count))
    }
}

/// `/handoff` minted on the login host's event loop when memory alone allows it: the
/// same 302 as the router's, a token that redeems like any other, and never before the
/// handoff to that relying party is recorded.
@Suite("Handoff: minted on the event loop")
struct InlineHandoffTests {
    /// A `/handoff` request for the dashboard (path and query, from its `/sso/start`) and
    /// the browser's login cookie, with the login session freshly in the login host's cache.
    static func handoffRequest(_ hosts: TestHosts, _ browser: Browser) async throws -> (target: String, cookie: String) {
        let start = try await browser.get(TestHosts.dashboardOrigin + "/sso/start?return_to=%2F")
        let location = try #require(start.location)
        let target = try #require(location.range(of: "/handoff?").map { String(location[$0.lowerBound...]) })
        let cookie = try #require(await browser.jar.value("__Host-baton_login", host: "login.localhost"))
        // Through the browser once: the session is read (and cached), the handoff recorded.
        #expect(try await browser.get(TestHosts.loginOrigin + target).status == 302)
        return (target, cookie)
    }

    static func get(_ target: String, cookie: String, extra: String = "") -> String {
        "GET \(target) HTTP/1.1\r\nHost: login.localhost:8080\r\nCookie: __Host-baton_login=\(cookie)\r\n\(extra)\r\n"
    }

    @Test("the inline 302 is the router's: same headers but Date and the token; Connection: close goes to the router")
    func sameAnswer() async throws {
        try await TestHosts.run(options: InlineForwardAuthTests.options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let count = hosts.inlineAnswers["login"]!
            let (target, cookie) = try await Self.handoffRequest(hosts, browser)
            let client = try await RawClient.connect(port: hosts.ports["login"]!)
            defer { Task { await client.close() } }
            let before = count.value
            let inline = try #require(try await client.exchange(Self.get(target, cookie: cookie)).first)
            #expect(count.value == before + 1, "the handoff was answered inline")
            let routed = try #require(try await client.exchange(Self.get(target, cookie: cookie, extra: "Connection: close\r\n")).first)
            #expect(count.value == before + 1, "a Connection: close handoff goes to the router")
            #expect(inline.status == 302 && routed.status == 302)
            let inlineLocation = try #require(inline.header("Location"))
            let routedLocation = try #require(routed.header("Location"))
            let tokenAt = try #require(inlineLocation.range(of: "token="))
            #expect(routedLocation.hasPrefix(inlineLocation[..<tokenAt.upperBound]))
            #expect(routedLocation != inlineLocation, "two mints, two tokens")
            #expect(routed.lines(except: ["date", "location"]) == inline.lines(except: ["date", "location"]))
            #expect(inline.header("Cache-Control") == "no-store")
        }
    }

    @Test("an inline token redeems like any: sign-ins again at once are minted inline and end signed in")
    func inlineTokensRedeem() async throws {
        try await TestHosts.run(options: InlineForwardAuthTests.options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let count = hosts.inlineAnswers["login"]!
            for round in 1...3 {
                let before = count.value
                await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
                let trace = try await browser.signIn(rpOrigin: TestHosts.dashboardOrigin, username: "", password: "")
                #expect(count.value == before + 1, "sign-in \(round) was not minted inline")
                #expect(trace.final.status == 200, "ended at \(trace.final.url) with \(trace.final.status)")
                #expect(trace.callbackURL != nil)
                #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") != nil)
            }
        }
    }

    @Test("the first handoff to another relying party is recorded before its token: the router mints it, and it redeems")
    func firstHandoffToAClientIsRecorded() async throws {
        try await TestHosts.run(options: InlineForwardAuthTests.options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let count = hosts.inlineAnswers["login"]!
            let before = count.value
            // At once, while the login session is in the cache: reports has never been handed this session.
            let trace = try await browser.signIn(rpOrigin: TestHosts.reportsOrigin, username: "", password: "")
            #expect(trace.final.status == 200, "ended at \(trace.final.url) with \(trace.final.status)")
            #expect(count.value == before, "minted inline before the handoff was recorded")
            // Recorded now: the next sign-in there is minted inline.
            await browser.jar.remove("__Host-baton_session", host: "reports.localhost")
            #expect(try await browser.signIn(rpOrigin: TestHosts.reportsOrigin, username: "", password: "").final.status == 200)
            #expect(count.value == before + 1)
        }
    }

    @Test("bad parameters, no session and HEAD go to the router and get its answers")
    func otherRequestsGoToTheRouter() async throws {
        try await TestHosts.run(options: InlineForwardAuthTests.options) { hosts in
            let browser = try await hosts.signedInBrowser()
            let (target, cookie) = try await Self.handoffRequest(hosts, browser)
            let client = try await RawClient.connect(port: hosts.ports["login"]!)
            defer { Task { await client.close() } }
            let count = hosts.inlineAnswers["login"]!
            let before = count.value
            let duplicated = try await client.exchange(Self.get(target + "&client_id=reports", cookie: cookie))
            #expect(duplicated.first?.status == 400)
            let unknown = try await client.exchange(Self.get(target.replacingOccurrences(of: "client_id=dashboard", with: "client_id=nobody"), cookie: cookie))
            #expect(unknown.first?.status == 400)
            let signedOut = try await client.exchange(Self.get(target, cookie: Secrets.random()))
            #expect(signedOut.first?.status == 303)
            #expect(signedOut.first?.header("Location")?.hasPrefix("/login?continue=") == true)
            let head = try await client.exchange("HEAD \(target) HTTP/1.1\r\nHost: login.localhost:8080\r\nCookie: __Host-baton_login=\(cookie)\r\n\r\n")
            #expect(head.first?.status == 405)
            #expect(count.value == before)
            // The same connection's next valid handoff is minted inline.
            #expect(try await client.exchange(Self.get(target, cookie: cookie)).first?.status == 302)
            #expect(count.value == before + 1)
        }
    }
}

@testable import BatonDashboard
import BatonTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The relying party's keep-alive connections to the login host, against a scripted
/// HTTP/1.1 server on 127.0.0.1 that counts the connections it accepts.
@Suite("Back-channel connections: reuse, the stale keep-alive retry, limits, fail closed")
struct BackChannelConnectionsTests {
    static func pool(_ port: Int, deadline: TimeAmount = .seconds(4)) -> BackChannelConnections {
        BackChannelConnections(
            url: "http://127.0.0.1:\(port)", group: MultiThreadedEventLoopGroup.singleton, tls: nil,
            connectTimeout: .seconds(2), deadline: deadline)
    }

    @Test("sequential lookups share one connection, with the Host header and the given headers")
    func reusesOneConnection() async throws {
        try await ScriptedServer.with { server in
            let pool = Self.pool(server.port)
            for _ in 0..<5 {
                let answer = try await pool.get("/ok", headers: [("Authorization", "Basic x")])
                #expect(answer.status == 200)
                #expect(String(buffer: answer.body) == #"{"ok":true}"#)
            }
            #expect(server.accepted == 1)
            #expect(server.lastHeaders["host"] == "127.0.0.1:\(server.port)")
            #expect(server.lastHeaders["authorization"] == "Basic x")
        }
    }

    @Test("a connection the server closed while idle is retried once on a new one, before any answer")
    func retriesAStaleConnection() async throws {
        try await ScriptedServer.with { server in
            let pool = Self.pool(server.port)
            // The server answers the first request of each connection and drops the
            // connection, unanswered, when a second arrives on it.
            for round in 0..<3 {
                let answer = try await pool.get("/once", headers: [])
                #expect(answer.status == 200, "round \(round)")
            }
            // The first, then each retry on a new connection.
            #expect(server.accepted == 3)
            #expect(server.requests == 5)
        }
    }

    @Test("an answer without keep-alive is not reused")
    func connectionCloseIsNotReused() async throws {
        try await ScriptedServer.with { server in
            let pool = Self.pool(server.port)
            for _ in 0..<3 {
                let answer = try await pool.get("/close", headers: [])
                #expect(answer.status == 200)
            }
            #expect(server.accepted == 3)
        }
    }

    @Test("a body over 64 KiB, a malformed answer and a silent server all fail; the pool still serves after")
    func failuresFailClosed() async throws {
        try await ScriptedServer.with { server in
            // Deadlines far from what these take, but for the silent server's: the whole
            // test run shares two cores, and a busy machine stalls every task for a while.
            let pool = Self.pool(server.port, deadline: .seconds(20))
            await #expect(throws: BackChannelFailure.tooLarge) { try await pool.get("/big", headers: []) }
            await #expect(throws: (any Error).self) { try await pool.get("/garbage", headers: []) }
            let answered = try await pool.get("/ok", headers: [])
            #expect(answered.status == 200)
            let short = Self.pool(server.port, deadline: .seconds(3))
            let started = ContinuousClock.now
            await #expect(throws: BackChannelFailure.timedOut) { try await short.get("/silent", headers: []) }
            #expect(ContinuousClock.now - started < .seconds(8))
            // The timed-out connection gave its slot back, and nothing of it is reused.
            let after = try await short.get("/ok", headers: [])
            #expect(after.status == 200)
        }
    }

    @Test("nothing listening fails at once; an https URL without a TLS context never speaks in the clear")
    func unreachableFails() async throws {
        let port = try freePort()
        await #expect(throws: (any Error).self) { try await Self.pool(port).get("/ok", headers: []) }
        let https = BackChannelConnections(
            url: "https://127.0.0.1:\(port)", group: MultiThreadedEventLoopGroup.singleton, tls: nil,
            connectTimeout: .seconds(2), deadline: .seconds(4))
        await #expect(throws: BackChannelFailure.unusableTLS) { try await https.get("/ok", headers: []) }
        let unusable = BackChannelConnections(
            url: "ftp://x", group: MultiThreadedEventLoopGroup.singleton, tls: nil, connectTimeout: .seconds(2), deadline: .seconds(4))
        await #expect(throws: BackChannelFailure.unusableURL) { try await unusable.get("/ok", headers: []) }
    }

    @Test("more concurrent lookups than connections allowed all succeed, over at most that many connections")
    func waitsForAFreeConnection() async throws {
        try await ScriptedServer.with { server in
            let pool = Self.pool(server.port)
            let count = BackChannelConnections.maximumConnections * 2 + 7
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<count { group.addTask { try await pool.get("/ok-slow", headers: []).status } }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.count == count && statuses.allSatisfy { $0 == 200 })
            #expect(server.accepted <= BackChannelConnections.maximumConnections)
            #expect(server.maximumOpen <= BackChannelConnections.maximumConnections)
        }
    }

    @Test("the deadline covers the wait for a connection: with every connection hung, the queued lookups fail on time too")
    func deadlineCoversTheQueue() async throws {
        try await ScriptedServer.with { server in
            // One deadline from end to end: every lookup fails at about 5 s. Were the wait
            // not covered, the queued ones would get their own 5 s after it, at 10 s. (Long
            // enough that a machine the whole test run keeps busy still tells the two apart.)
            let pool = Self.pool(server.port, deadline: .seconds(5))
            let count = BackChannelConnections.maximumConnections + 16
            let started = ContinuousClock.now
            let failures = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        do {
                            _ = try await pool.get("/silent", headers: [])
                            return false
                        } catch {
                            return true
                        }
                    }
                }
                var failures = 0
                for await failed in group where failed { failures += 1 }
                return failures
            }
            #expect(failures == count)
            #expect(ContinuousClock.now - started < .seconds(9), "queued lookups waited past their deadline")
            // Every slot came back: a lookup after all that is answered.
            let after = try await pool.get("/ok", headers: [])
            #expect(after.status == 200)
        }
    }

    @Test("the target keeps a base path and names the host as the Host header and TLS need it")
    func parsesTheURL() {
        let plain = BackChannelConnections.Target(url: "http://127.0.0.1:8080/")
        #expect(plain?.hostHeader == "127.0.0.1:8080" && plain?.basePath == "" && plain?.serverHostname == nil)
        let named = BackChannelConnections.Target(url: "https://login.example/baton/")
        #expect(named?.hostHeader == "login.example" && named?.port == 443 && named?.basePath == "/baton")
        #expect(named?.serverHostname == "login.example" && named?.tls == true)
        let v6 = BackChannelConnections.Target(url: "http://[::1]:9000")
        #expect(v6?.host == "::1" && v6?.hostHeader == "[::1]:9000" && v6?.serverHostname == nil)
        for bad in ["ftp://x", "http://", "http://u:p@host", "http://host/?q=1", "not a url"] {
            #expect(BackChannelConnections.Target(url: bad) == nil, "\(bad)")
        }
    }
}

/// An HTTP/1.1 server whose answer depends on the path, counting what it sees.
final class ScriptedServer: Sendable {
    private struct Counts {
        var accepted = 0
        var open = 0
        var maximumOpen = 0
        var requests = 0
        var lastHeaders: [String: String] = [:]
    }

    private let counts = Mutex(Counts())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    var accepted: Int { counts.withLock { $0.accepted } }
    var maximumOpen: Int { counts.withLock { $0.maximumOpen } }
    var requests: Int { counts.withLock { $0.requests } }
    var lastHeaders: [String: String] { counts.withLock { $0.lastHeaders } }
    var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }

    static func with(_ body: (ScriptedServer) async throws -> Void) async throws {
        let server = ScriptedServer()
        let listening = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                server.opened()
                channel.closeFuture.whenComplete { _ in server.closed() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLock { $0 = listening }
        do {
            try await body(server)
        } catch {
            try? await listening.close()
            throw error
        }
        try? await listening.close()
    }

    fileprivate func opened() {
        counts.withLock {
            $0.accepted += 1
            $0.open += 1
            $0.maximumOpen = max($0.maximumOpen, $0.open)
        }
    }

    fileprivate func closed() { counts.withLock { $0.open -= 1 } }

    fileprivate func saw(_ head: HTTPRequestHead) {
        counts.withLock {
            $0.requests += 1
            $0.lastHeaders = Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        }
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: ScriptedServer
    private var answered = 0
    private var path = ""

    init(server: ScriptedServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.uri
            server.saw(head)
        case .body:
            break
        case .end:
            answered += 1
            switch path {
            case "/once" where answered > 1:
                context.close(promise: nil)
            case "/close":
                respond(context, body: "{}", close: true)
            case "/big":
                respond(context, body: String(repeating: "x", count: 70 * 1024))
            case "/garbage":
                // A Content-Length no parser accepts.
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([("Content-Length", "abc")]))
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case "/silent":
                break
            case "/ok-slow":
                let loop = context.eventLoop.assumeIsolated()
                loop.scheduleTask(in: .milliseconds(20)) { [self] in respond(context, body: "{}") }
            default:
                respond(context, body: #"{"ok":true}"#)
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, body: String, close: Bool = false) {
        var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.utf8.count)")])
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if close { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ScriptedHandler: Sendable {}

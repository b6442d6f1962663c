import AsyncHTTPClient
import BatonCore
import BatonLogin
import BatonSQLite
import BatonTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The dispatcher against a real SQLite queue and a relying party that is not there.
@Suite("LogoutDispatcher: retries and giving up")
struct LogoutDispatcherTests {
    static func withDispatcher(
        _ body: (LogoutDispatcher, SQLiteStore, ManualClock) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-dispatch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/login.sqlite")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        // A port nobody listens on: every delivery fails to connect.
        let deadPort = try freePort()
        let clients = ClientRegistry([
            .init(clientID: "dashboard", redirectURIs: ["http://d/cb"], secretHash: "x", backChannelLogoutURI: "http://127.0.0.1:\(deadPort)/sso/backchannel-logout"),
            .init(clientID: "silent", redirectURIs: ["http://s/cb"], secretHash: "y"),
        ])
        // Refused connections are retried by the client until its connect timeout: keep it short.
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .milliseconds(100), read: .seconds(1))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dispatcher = LogoutDispatcher(
            store: store, clients: clients, mint: { _, _ in "a.b.c" }, http: http, clock: clock, logger: logger, maximumBackoff: 300)
        do {
            try await body(dispatcher, store, clock)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    static func queue(_ store: SQLiteStore, clock: ManualClock, clients: [String], lifetime: TimeInterval = 3600) async throws {
        try await store.insertUser(User(id: "u", username: "alice", displayName: "Alice", passwordHash: "h", createdAt: clock.now()))
        try await store.insertLoginSession(
            LoginSession(
                sid: "sid-1", secretHash: "s", userID: "u", authTime: clock.now(), lastSeen: clock.now(),
                expiresAt: clock.now().addingTimeInterval(lifetime), userAgent: "test"))
        for client in clients { try await store.recordHandoff(sid: "sid-1", clientID: client, at: clock.now()) }
        #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: clock.now()) == clients.sorted())
    }

    @Test("a failed delivery is kept and retried after a growing, capped, jittered delay")
    func retriesWithBackoff() async throws {
        try await Self.withDispatcher { dispatcher, store, clock in
            try await Self.queue(store, clock: clock, clients: ["dashboard"])
            var previous = clock.now()
            for attempt in 1...12 {
                #expect(await dispatcher.deliverDue() == 0)
                let pending = try #require(try await store.pendingLogoutDeliveries().first)
                #expect(pending.attempts == attempt)
                let delay = pending.nextAttemptAt.timeIntervalSince(previous)
                let ceiling = min(300, pow(2, Double(attempt - 1)))
                #expect(delay >= ceiling * 0.5 - 0.001 && delay <= ceiling + 0.001, "attempt \(attempt): \(delay) s")
                // Not due yet: nothing is attempted.
                #expect(await dispatcher.deliverDue() == 0)
                #expect(try await store.pendingLogoutDeliveries().first?.attempts == attempt)
                clock.advance(by: delay)
                previous = clock.now()
            }
        }
    }

    @Test("a delivery is given up once the login session's expiry has passed, and a client without a logout URI gets none")
    func givesUp() async throws {
        try await Self.withDispatcher { dispatcher, store, clock in
            try await Self.queue(store, clock: clock, clients: ["dashboard", "silent"], lifetime: 10)
            await dispatcher.deliverDue()
            #expect(try await store.pendingLogoutDeliveries().map(\.clientID) == ["dashboard"])
            clock.advance(by: 11)
            await dispatcher.deliverDue()
            #expect(try await store.pendingLogoutDeliveries().isEmpty)
        }
    }

    @Test("a relying party that accepts and never answers does not delay another's logout, and is not attempted twice at once")
    func hungRelyingPartyBlocksNobody() async throws {
        let hung = try await BackChannelListener.start(answering: false)
        let answering = try await BackChannelListener.start(answering: true)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-dispatch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/login.sqlite")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        let clients = ClientRegistry([
            .init(clientID: "hung", redirectURIs: ["http://h/cb"], secretHash: "x", backChannelLogoutURI: hung.url + "/sso/backchannel-logout"),
            .init(clientID: "dashboard", redirectURIs: ["http://d/cb"], secretHash: "y", backChannelLogoutURI: answering.url + "/sso/backchannel-logout"),
        ])
        // No client-side read timeout to end the hung attempt early: only the dispatcher's own.
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dispatcher = LogoutDispatcher(
            store: store, clients: clients, mint: { _, _ in "a.b.c" }, http: http, clock: clock, logger: logger,
            attemptTimeout: .seconds(8))
        try await store.insertUser(User(id: "u", username: "alice", displayName: "Alice", passwordHash: "h", createdAt: clock.now()))
        func endSession(_ sid: String, handedTo client: String) async throws {
            try await store.insertLoginSession(
                LoginSession(
                    sid: sid, secretHash: "secret-" + sid, userID: "u", authTime: clock.now(), lastSeen: clock.now(),
                    expiresAt: clock.now().addingTimeInterval(3600), userAgent: "test"))
            try await store.recordHandoff(sid: sid, clientID: client, at: clock.now())
            #expect(try await store.endLoginSession(sid: sid, queueLogoutAt: clock.now()) == [client])
        }
        /// Polls `condition` every 20 ms for at most `bound`; how long it took, or nil.
        func waitFor(_ bound: Duration, _ condition: () async throws -> Bool) async rethrows -> Duration? {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < bound {
                if try await condition() { return ContinuousClock.now - start }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return nil
        }

        // The hung relying party's delivery goes out first and hangs.
        try await endSession("sid-hung", handedTo: "hung")
        let first = Task { await dispatcher.deliverDue() }
        // Bounded generously: the first look at the queue is a durable write, and a disk
        // that the whole suite keeps busy can take seconds over its fsync.
        #expect(await waitFor(.seconds(10)) { hung.connections == 1 } != nil, "the hung delivery was attempted")

        // Then another person signs out of the dashboard: delivered at once, not after the hang.
        try await endSession("sid-dashboard", handedTo: "dashboard")
        dispatcher.poke()
        let took = try await waitFor(.seconds(7)) {
            try await !store.pendingLogoutDeliveries().contains { $0.clientID == "dashboard" }
        }
        let elapsed = try #require(took, "the dashboard's delivery was never acknowledged")
        // Not behind the hang: acknowledged while the hung attempt is still under way (it
        // has not timed out and been rescheduled), whatever the machine's speed.
        let hungRow = try await store.pendingLogoutDeliveries().first { $0.clientID == "hung" }
        #expect(hungRow?.attempts == 0, "the dashboard's logout waited \(elapsed), until the hung attempt ended")
        #expect(answering.requests == 1)

        // However often the queue is looked at meanwhile, the hung delivery is under way once.
        for _ in 0..<5 {
            dispatcher.poke()
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(hung.connections == 1)
        #expect(await first.value == 0)
        let retry = try #require(try await store.pendingLogoutDeliveries().first)
        #expect(retry.clientID == "hung" && retry.attempts == 1, "the hung attempt timed out and is rescheduled")
        try await http.shutdown()
        await hung.stop()
        await answering.stop()
    }
}

/// A relying party's back-channel endpoint on 127.0.0.1: one that answers every
/// request `200 ok`, or one that accepts connections and never says a word.
final class BackChannelListener: Sendable {
    private let channel: any Channel
    private let handler: Handler

    final class Handler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answering: Bool
        let connections = Atomic<Int>(0)
        let requests = Atomic<Int>(0)

        init(answering: Bool) { self.answering = answering }

        func channelActive(context: ChannelHandlerContext) {
            connections.add(1, ordering: .relaxed)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Whatever arrives is read and dropped; an answering endpoint answers the
            // first chunk of each connection (the dispatcher's requests are tiny).
            guard answering else { return }
            requests.add(1, ordering: .relaxed)
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
            context.close(promise: nil)
        }
    }

    static func start(answering: Bool) async throws -> BackChannelListener {
        let handler = Handler(answering: answering)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return BackChannelListener(channel: channel, handler: handler)
    }

    private init(channel: any Channel, handler: Handler) {
        self.channel = channel
        self.handler = handler
    }

    var url: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }
    var connections: Int { handler.connections.load(ordering: .relaxed) }
    var requests: Int { handler.requests.load(ordering: .relaxed) }

    func stop() async {
        try? await channel.close()
    }
}

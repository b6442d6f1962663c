import BatonCore
import BatonLogin
import BatonServer
import BatonWeb
import BatonTestSupport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// Slowloris and fd exhaustion against a login host served as `baton serve` serves it
/// (`HostAssembly.application`), over real sockets on 127.0.0.1.
@Suite("Connections: the whole-request deadline and the connection cap")
struct ConnectionLimitTests {
    static let requestTimeout = 1.0
    /// Time allowed beyond the deadline for the close to reach the client (the whole
    /// suite runs in parallel on two cores).
    static let margin = 1.5
    static let head =
        "POST /login HTTP/1.1\r\nHost: login.localhost:8080\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"

    @Test("a body trickled a byte every 200 ms is cut off at request_timeout_seconds; other clients are served")
    func trickledBodyIsCutOff() async throws {
        try await Self.serve { port in
            let slow = try await RawClient.connect(port: port)
            let started = ContinuousClock.now
            try await slow.send(Self.head)
            async let answeredMeanwhile: Int? = {
                try await Task.sleep(for: .milliseconds(400))
                return try await Self.healthz(port: port)
            }()
            // Bounded: 40 bytes at most (8 s), far beyond the 1 s deadline and within the body.
            let sent = try await slow.trickle()
            let held = await slow.recordedClose().map { $0 - started }
            await slow.close()
            #expect(try await answeredMeanwhile == 200, "another client's /healthz while the body trickled")
            #expect(held != nil, "the trickling connection was still open after \(sent) body bytes")
            if let held {
                #expect(held < .seconds(Self.requestTimeout + Self.margin), "held for \(held), \(sent) body bytes")
                #expect(held >= .seconds(Self.requestTimeout * 0.8), "closed after \(held): before the deadline")
            }
            #expect(try await Self.healthz(port: port) == 200)
        }
    }

    @Test("on a keep-alive connection each request gets its own deadline from its first byte, not the first request's")
    func deadlineFollowsEachRequest() async throws {
        // A longer deadline than the suite's, so that a machine the whole test run keeps
        // busy still begins the second request well within the first one's.
        let timeout = 3.0
        try await Self.serve(requestTimeout: timeout) { port in
            // Bounded: a run the machine slowed so much that the first request's timer had
            // already lapsed when the second began tests nothing, and is tried again.
            for attempt in 1...3 {
                let client = try await RawClient.connect(port: port)
                // A quick request arms the connection's one timer for 3 s from its first byte.
                let first = ContinuousClock.now
                #expect(try await client.get("/healthz") == 200)
                // The next one begins 1 s later and trickles: when the timer fires it must
                // neither close this request early nor lapse, but move to its deadline.
                try await Task.sleep(for: .seconds(1))
                let started = ContinuousClock.now
                try await client.send(Self.head)
                guard started - first < .seconds(timeout * 0.8) else {
                    await client.close()
                    if attempt == 3 { Issue.record("the second request never began within the first one's deadline") }
                    continue
                }
                let sent = try await client.trickle()
                let held = await client.recordedClose().map { $0 - started }
                await client.close()
                #expect(held != nil, "the trickling connection was still open after \(sent) body bytes")
                if let held {
                    #expect(held >= .seconds(timeout * 0.8), "closed after \(held): on the first request's deadline")
                    #expect(held < .seconds(timeout + Self.margin), "held for \(held), \(sent) body bytes")
                }
                return
            }
        }
    }

    @Test("a request head trickled a byte every 200 ms is cut off at request_timeout_seconds too")
    func trickledHeadIsCutOff() async throws {
        try await Self.serve { port in
            let slow = try await RawClient.connect(port: port)
            let started = ContinuousClock.now
            try await slow.send("GET / HTTP/1.1\r\nHost: login.localhost:8080\r\nX-Slow: ")
            let sent = try await slow.trickle()
            let held = await slow.recordedClose().map { $0 - started }
            await slow.close()
            #expect(held != nil, "the trickling connection was still open after \(sent) header bytes")
            if let held { #expect(held < .seconds(Self.requestTimeout + Self.margin), "held for \(held)") }
        }
    }

    @Test("connections beyond max_connections are closed at once; the ones it holds are still served")
    func connectionsBeyondTheCapAreClosed() async throws {
        try await Self.serve(maxConnections: 3) { port in
            var held: [RawClient] = []
            for _ in 0..<3 {
                let client = try await RawClient.connect(port: port)
                // A served request proves the host counted this connection before the next.
                #expect(try await client.get("/healthz") == 200)
                held.append(client)
            }
            let extra = try await RawClient.connect(port: port)
            let refused = await extra.waitUntilClosed(within: .seconds(2))
            #expect(refused != nil, "the fourth connection was still open after 2 s")
            if let refused { #expect(refused < .seconds(1), "the fourth connection was closed only after \(refused)") }
            for client in held {
                #expect(try await client.get("/healthz") == 200, "a held connection is served after the refusal")
            }
            // A place freed is a place offered again.
            await held.removeLast().close()
            var admitted: Int?
            for _ in 0..<50 where admitted == nil {
                let again = try await RawClient.connect(port: port)
                admitted = try? await again.get("/healthz")
                await again.close()
                if admitted == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted == 200, "no connection admitted after one closed")
            for client in held { await client.close() }
        }
    }

    @Test("max_connections is lowered to each host's share of the open-file limit less the reserve")
    func capFitsTheOpenFileLimit() {
        let settings = ConnectionSettings()
        #expect(settings.requestTimeout == .seconds(10) && settings.maxConnections == 10_000 && settings.idleTimeout == .seconds(30))
        #expect(settings.fitting(openFiles: 1_048_576, hosts: 4).maxConnections == 10_000)
        #expect(settings.fitting(openFiles: 1024, hosts: 1).maxConnections == 1024 - ConnectionSettings.reservedFileDescriptors)
        #expect(settings.fitting(openFiles: 20_256, hosts: 4).maxConnections == 5_000)
    }

    // MARK: - A login host on a real socket

    /// Serves a login host with `request_timeout_seconds` of 1 s on a free port, runs
    /// `body`, and stops the host within a bound.
    static func serve(
        requestTimeout: Double = Self.requestTimeout, maxConnections: Int = 10_000, idleTimeout: Duration = .seconds(30),
        inline: (path: String, answer: InlineResponder.Answer)? = nil, _ body: @Sendable (Int) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-conn-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "baton.test.connections")
        logger.logLevel = ProcessInfo.processInfo.environment["BATON_TEST_LOG"] == nil ? .critical : .debug
        let file = LoginHostFile(
            listen: ListenAddress(port: try freePort()),
            host: LoginHostConfiguration(publicOrigin: TestHosts.loginOrigin, clients: ClientRegistry([])),
            database: .sqlite(path: directory + "/login.sqlite"), signingKeys: .file(directory + "/keys.json"), templates: TestHosts.templateDirectory(),
            bcryptCost: 4)
        let (host, _) = try await HostAssembly.loginHost(file, logger: logger)
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = HostAssembly.application(
            router: host.router(), listen: file.listen,
            connections: ConnectionSettings(requestTimeout: .seconds(requestTimeout), maxConnections: maxConnections, idleTimeout: idleTimeout),
            inline: inline, logger: logger, onServerRunning: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { readyContinuation.finish() }
                try await group.run()
            }
            var port: Int?
            for await bound in ready {
                port = bound
                break
            }
            let outcome: Result<Void, any Error>
            if let port {
                do { outcome = .success(try await body(port)) } catch { outcome = .failure(error) }
            } else {
                outcome = .failure(ConnectionTestError("the login host did not start"))
            }
            await group.triggerGracefulShutdown()
            tasks.addTask { try await Task.sleep(for: .seconds(15)) }
            _ = try? await tasks.next()
            tasks.cancelAll()
            try outcome.get()
        }
    }

    /// `GET /healthz` on a connection of its own.
    static func healthz(port: Int) async throws -> Int? {
        let client = try await RawClient.connect(port: port)
        let status = try? await client.get("/healthz")
        await client.close()
        return status ?? nil
    }
}

struct ConnectionTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One TCP connection that writes exactly what it is told and keeps what it receives.
final class RawClient: Sendable {
    private let channel: any Channel
    private let received: Received
    private let closed = Mutex<ContinuousClock.Instant?>(nil)

    /// A connection to `port`; with `reading` false nothing is read until ``startReading()``.
    static func connect(port: Int, reading: Bool = true) async throws -> RawClient {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received: received)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, received: received)
    }

    private init(channel: any Channel, received: Received) {
        self.channel = channel
        self.received = received
        channel.closeFuture.whenComplete { [self] _ in closed.withLock { $0 = $0 ?? .now } }
    }

    /// When the connection closed (by either side), as the client's event loop saw it.
    var closedAt: ContinuousClock.Instant? { closed.withLock { $0 } }

    /// ``closedAt`` once it is known: the channel is seen inactive a moment before its
    /// close callback records the time, a moment a busy machine stretches. Nil while open.
    func recordedClose() async -> ContinuousClock.Instant? {
        for _ in 0..<200 {
            if let at = closedAt { return at }
            if isOpen { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return closedAt
    }

    /// Whether the server has not closed the connection (as far as this client knows).
    var isOpen: Bool { channel.isActive }

    /// Everything received so far, as text.
    var receivedText: String { received.text }

    /// How many bytes have been received so far.
    var receivedCount: Int { received.count }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Sends `text` without waiting for it to be written (a peer that stops reading may
    /// never take all of it).
    func sendWithoutWaiting(_ text: String) {
        channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
    }

    /// Starts reading, for a connection made with `reading` false.
    func startReading() async throws {
        try await channel.setOption(.autoRead, value: true).get()
    }

    /// Sends a byte every 200 ms while the connection is open, 40 at most (8 s, far
    /// beyond the deadlines tested); how many were sent.
    func trickle() async throws -> Int {
        var sent = 0
        while isOpen, sent < 40 {
            try? await send("a")
            sent += 1
            try await Task.sleep(for: .milliseconds(200))
        }
        return sent
    }

    /// Sends `GET path` and returns the status of the response, nil if none came within
    /// 5 s or the connection closed without one.
    func get(_ path: String) async throws -> Int? {
        let before = received.count
        try await send("GET \(path) HTTP/1.1\r\nHost: login.localhost:8080\r\n\r\n")
        for _ in 0..<500 {
            if let status = received.status(after: before) { return status }
            if !channel.isActive { return received.status(after: before) }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// How long until the server closed the connection, or nil if it did not within `bound`.
    func waitUntilClosed(within bound: Duration) async -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < bound {
            if !channel.isActive { return ContinuousClock.now - started }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    func close() async {
        try? await channel.close()
    }
}

/// The bytes a ``RawClient`` received, written on its event loop, read by the test.
final class Received: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    var count: Int { bytes.withLock { $0.count } }

    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }

    func append(_ buffer: ByteBuffer) {
        bytes.withLock { $0 += buffer.readableBytesView }
    }

    /// The status of the first complete response head received after byte `offset`.
    func status(after offset: Int) -> Int? {
        let text = bytes.withLock { String(decoding: $0[offset...], as: UTF8.self) }
        guard text.contains("\r\n\r\n"), text.hasPrefix("HTTP/1.1 ") else { return nil }
        return Int(text.dropFirst(9).prefix(3))
    }
}

final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: Received

    init(received: Received) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(unwrapInboundIn(data))
    }
}

@available(*, unavailable)
extension Collector: Sendable {}

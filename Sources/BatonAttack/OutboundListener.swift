import NIOCore
import NIOPosix
import Synchronization

/// A TCP listener on 127.0.0.1 that counts connections: point a token's `jku` or
/// `x5u` at it, and a count of zero afterwards proves the relying party fetched
/// nothing an attacker named.
public final class OutboundListener: Sendable {
    private let channel: any Channel
    private let counter: Counter

    final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let count = Atomic<Int>(0)
        func channelActive(context: ChannelHandlerContext) {
            count.add(1, ordering: .relaxed)
            context.close(promise: nil)
        }
    }

    /// Binds a listener on a free port.
    public static func start() async throws -> OutboundListener {
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(counter) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OutboundListener(channel: channel, counter: counter)
    }

    private init(channel: any Channel, counter: Counter) {
        self.channel = channel
        self.counter = counter
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }

    /// Connections accepted so far.
    public var connections: Int { counter.count.load(ordering: .relaxed) }

    /// Stops listening.
    public func stop() async {
        try? await channel.close()
    }
}

/// Clients that open a connection and send their request headers one byte at a
/// time, never finishing: a slowloris. The host must keep serving everyone else.
public final class SlowClients: Sendable {
    private let channels: [any Channel]

    /// Opens `count` connections to `host:port` and starts each request.
    public static func open(count: Int, host: String, port: Int, hostHeader: String) async throws -> SlowClients {
        var channels: [any Channel] = []
        for _ in 0..<count {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: port).get()
            let start = "GET / HTTP/1.1\r\nHost: \(hostHeader)\r\nX-Slow: "
            try await channel.writeAndFlush(ByteBuffer(string: start)).get()
            channels.append(channel)
        }
        return SlowClients(channels: channels)
    }

    private init(channels: [any Channel]) { self.channels = channels }

    /// Sends one more header byte on every connection that is still open.
    public func trickle() async {
        for channel in channels where channel.isActive {
            try? await channel.writeAndFlush(ByteBuffer(string: "a")).get()
        }
    }

    /// How many connections the server has not closed.
    public var open: Int { channels.filter(\.isActive).count }

    /// Closes every connection.
    public func close() async {
        for channel in channels { try? await channel.close() }
    }
}

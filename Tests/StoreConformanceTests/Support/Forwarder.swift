import NIOCore
import NIOPosix
import Synchronization

/// A TCP port on 127.0.0.1 in front of the test server's unix socket, that a test can
/// make silent (bytes vanish: a server that accepted and hangs) or refusing (every
/// connection closed at once: a server that is down), then open again: how the store's
/// timeouts and recovery are tested without touching the server other tests share.
final class Forwarder: Sendable {
    enum Mode: Sendable { case open, silent, refusing }

    private let state = Mutex<(mode: Mode, channels: [any Channel])>((.open, []))
    private let server: any Channel
    var port: Int { server.localAddress?.port ?? 0 }

    private init(server: any Channel) { self.server = server }

    static func start(toUnixSocket path: String) async throws -> Forwarder {
        let box = Mutex<Forwarder?>(nil)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                guard let forwarder = box.withLock({ $0 }), forwarder.admit(inbound) else {
                    return inbound.close()
                }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(Pipe(to: inbound, forwarder: forwarder))
                        }
                    }
                    .connect(unixDomainSocketPath: path)
                    .flatMap { outbound in
                        forwarder.track(outbound)
                        return inbound.eventLoop.makeCompletedFuture {
                            try inbound.pipeline.syncOperations.addHandler(Pipe(to: outbound, forwarder: forwarder))
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let forwarder = Forwarder(server: server)
        box.withLock { $0 = forwarder }
        return forwarder
    }

    /// Changes what the server seems to do; connections made before go (they could
    /// have lost bytes), as a server that comes back has none of its old ones.
    func set(_ mode: Mode) {
        let old = state.withLock { state -> [any Channel] in
            state.mode = mode
            if mode == .silent { return [] }
            defer { state.channels = [] }
            return state.channels
        }
        for channel in old { channel.close(promise: nil) }
    }

    func stop() async {
        set(.refusing)
        try? await server.close()
    }

    fileprivate var isSilent: Bool { state.withLock { $0.mode == .silent } }

    private func admit(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard state.mode != .refusing else { return false }
            state.channels.append(channel)
            return true
        }
    }

    private func track(_ channel: any Channel) { state.withLock { $0.channels.append(channel) } }
}

/// Copies bytes to the other side, unless the forwarder is silent.
private final class Pipe: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let partner: any Channel
    private let forwarder: Forwarder

    init(to partner: any Channel, forwarder: Forwarder) {
        self.partner = partner
        self.forwarder = forwarder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !forwarder.isSilent else { return }
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }
}

import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The open connections of one host, shared by its connections' ``ConnectionCapHandler``s
/// across event loops (`max_connections`).
public final class ConnectionCount: Sendable {
    /// How many connections may be open at once.
    public let limit: Int
    private let state = Mutex<(open: Int, refusing: Bool)>((0, false))
    private let logger: Logger

    /// A count that admits up to `limit` connections; `logger` hears when the host starts
    /// refusing connections, once each time it fills up.
    public init(limit: Int, logger: Logger) {
        self.limit = limit
        self.logger = logger
    }

    /// Connections open now.
    public var open: Int { state.withLock { $0.open } }

    /// Takes a place for a new connection; false when the host is full.
    func admit() -> Bool {
        let (admitted, newlyFull) = state.withLock { state -> (Bool, Bool) in
            guard state.open < limit else {
                defer { state.refusing = true }
                return (false, !state.refusing)
            }
            state.open += 1
            state.refusing = false
            return (true, false)
        }
        if newlyFull {
            logger.warning("max_connections reached: closing new connections at once", metadata: ["max_connections": "\(limit)"])
        }
        return admitted
    }

    /// Gives back the place of a connection that ``admit()`` let in.
    func release() {
        state.withLock { $0.open -= 1 }
    }
}

/// Closes a new connection at once when its host already holds `max_connections`, so
/// a flood of idle or slow connections runs into the cap, not into the process's
/// open-file limit (where accepting stops and the host stops answering everyone). The
/// connections the host already has go on being served.
public final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart

    private let count: ConnectionCount
    private var admitted = false
    private var refused = false

    /// A handler for one connection, counted in `count`.
    public init(count: ConnectionCount) {
        self.count = count
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        admitted = count.admit()
        refused = !admitted
        if context.channel.isActive { closeIfRefused(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        closeIfRefused(context)
        context.fireChannelActive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if admitted { count.release() }
        admitted = false
    }

    private func closeIfRefused(_ context: ChannelHandlerContext) {
        guard refused else { return }
        refused = false
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ConnectionCapHandler: Sendable {}

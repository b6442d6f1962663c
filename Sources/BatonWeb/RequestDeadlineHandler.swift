import NIOCore
import NIOHTTPTypes

/// Closes a connection whose request, head and body, has not fully arrived `timeout`
/// after its first byte (`request_timeout_seconds`).
///
/// Hummingbird's idle timer restarts on every body chunk, so a body trickled a byte at a
/// time would hold a connection, and a file descriptor, for as long as the client likes;
/// a few thousand of those take a host down. Keep-alive connections waiting between
/// requests stay governed by the idle timeout.
///
/// It sits after the HTTP decoder (in `HTTP1Channel`'s additional handlers), where it
/// sees where a request ends; the decoder only yields a head once all of it has arrived,
/// so it also places a ``FirstByteWatcher`` at the front of the pipeline, which starts
/// the clock at a request's first raw byte and bounds a trickled head as well.
public final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var context: ChannelHandlerContext?
    /// When the request on the clock began (its first byte); nil between requests.
    private var startedAt: NIODeadline?
    /// The one timer of this connection. It is never cancelled per request: when it fires
    /// it closes the connection if the request on the clock is overdue, moves itself to
    /// that request's deadline if it is not, and lapses if none is (the next request's
    /// first byte schedules it again). A busy keep-alive connection so pays one timer per
    /// timeout, not a schedule and a cancel per request.
    private var timer: Scheduled<Void>?

    /// A handler that allows each request `timeout` from its first byte to its end.
    public init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Best effort: without the watcher the clock starts at the head, and the idle
        // timeout still bounds a trickled head.
        try? context.pipeline.syncOperations.addHandler(FirstByteWatcher(deadline: self), position: .first)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        startedAt = nil
        self.context = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm()
        case .body: break
        case .end: startedAt = nil
        }
        context.fireChannelRead(data)
    }

    /// Starts the clock unless a request is already on it. Bytes that arrive while a
    /// request is being read belong to it, or (pipelined) to the next one, which the
    /// same deadline then covers until its head.
    fileprivate func arm() {
        guard startedAt == nil, context != nil else { return }
        let now = NIODeadline.now()
        startedAt = now
        if timer == nil { schedule(at: now + timeout) }
    }

    private func schedule(at deadline: NIODeadline) {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard let startedAt else { return }
            let due = startedAt + timeout
            if due <= .now() {
                context.close(promise: nil)
            } else {
                schedule(at: due)
            }
        }
    }
}

@available(*, unavailable)
extension RequestDeadlineHandler: Sendable {}

/// Tells a ``RequestDeadlineHandler`` that bytes arrived, before the HTTP decoder has
/// made anything of them. Runs on the channel's event loop, as its owner does.
final class FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: RequestDeadlineHandler

    init(deadline: RequestDeadlineHandler) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline.arm()
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension FirstByteWatcher: Sendable {}

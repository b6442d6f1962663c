import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Keep-alive HTTP/1.1 connections to the login host, for the one request every
/// redemption makes: `GET /api/sessions/{sid}`.
///
/// AsyncHTTPClient does the same job with a general machine (a request state machine, a
/// pool state machine, a streamed body behind back-pressure, the URL parsed per request)
/// that cost the relying party more CPU per redemption than verifying the token. This
/// does only what the lookup needs: one GET at a time per connection, the whole answer
/// read into one buffer of at most ``maximumBody`` bytes, no redirect ever followed, and
/// TLS exactly as the HTTP client was configured for it (the same trust roots, TLS 1.2
/// or later, the certificate and the name always verified; the name sent as SNI and
/// checked unless the URL names an IP address, which is then what the certificate must
/// name, as AsyncHTTPClient does it).
///
/// At most ``maximumConnections`` are open; a request beyond them waits for one to come
/// free. A connection is reused only after a complete answer that allows keep-alive. A
/// reused connection the login host closed while it sat idle (its idle timeout, a reset,
/// a TLS close without close_notify) is retried once on a new one, before any answer: a
/// GET has no effect to repeat. One deadline covers a request from end to end: the wait
/// for a connection, connecting, the answer and the retry.
final class BackChannelConnections: Sendable {
    /// Where the login host is, parsed once.
    struct Target: Sendable, Equatable {
        var tls: Bool
        var host: String
        var port: Int
        /// The path the URL carries before `/api/...` (empty for none).
        var basePath: String
        /// The `Host` header: the host, and the port unless it is the scheme's own.
        var hostHeader: String
        /// The SNI name and the name the certificate must carry; nil for an IP address.
        var serverHostname: String?

        init?(url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty,
                components.query == nil, components.fragment == nil, components.user == nil, components.password == nil
            else { return nil }
            tls = scheme == "https"
            let defaultPort = tls ? 443 : 80
            port = components.port ?? defaultPort
            guard (1...65535).contains(port) else { return nil }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.host = host
            let path = components.percentEncodedPath
            basePath = path.hasSuffix("/") ? String(path.dropLast()) : path
            let isIPAddress = (try? SocketAddress(ipAddress: host, port: port)) != nil
            let printedHost = host.contains(":") ? "[\(host)]" : host
            hostHeader = port == defaultPort ? printedHost : "\(printedHost):\(port)"
            serverHostname = isIPAddress ? nil : host
        }
    }

    static let maximumConnections = 64
    static let maximumBody = 64 * 1024

    let target: Target?
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let connectTimeout: TimeAmount
    private let deadline: TimeAmount
    private let state = Mutex(PoolState())

    /// Slots: every connection open or being opened holds one, and at most
    /// ``maximumConnections`` exist. A slot passes from a connection that is done to the
    /// first waiting request, with the connection when it can be reused, without it (the
    /// waiter opens its own) when it cannot.
    private struct PoolState {
        var idle: [any Channel] = []
        var open = 0
        var waiters = CircularBuffer<Waiter>()
        var nextWaiter: UInt64 = 0

        /// The waiter `id`, taken out of the queue; nil when it was served already.
        mutating func removeWaiter(_ id: UInt64) -> Waiter? {
            guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: index)
        }

        /// An idle connection, or a new slot, or nil when every slot is taken.
        mutating func take() -> Taken? {
            while let channel = idle.popLast() {
                if channel.isActive { return .idle(channel) }
                // Closed while idle (the login host's idle timeout): its slot is free again.
                open -= 1
            }
            guard open < BackChannelConnections.maximumConnections else { return nil }
            open += 1
            return .slot
        }
    }

    private enum Taken {
        case idle(any Channel)
        case slot
    }

    /// A request waiting for a slot: handed a connection, or nil to open its own in the
    /// slot it is given, or `.timedOut` when its deadline came first.
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Result<(any Channel)?, BackChannelFailure>, Never>
    }

    /// Connections to `url`, on `group`, with `tls` for an `https` URL.
    init(url: String, group: any EventLoopGroup, tls: TLSConfiguration?, connectTimeout: TimeAmount, deadline: TimeAmount) {
        let target = Target(url: url)
        self.target = target
        self.group = group
        self.connectTimeout = connectTimeout
        self.deadline = deadline
        // Without a context an https lookup fails closed (store_unavailable), never in the clear.
        self.sslContext = target?.tls == true ? tls.flatMap { try? NIOSSLContext(configuration: $0) } : nil
    }

    /// `GET basePath + path` with `headers`; the status and the whole body. The deadline
    /// covers all of it: the wait for a connection, connecting, the answer, and the retry.
    func get(_ path: String, headers: [(String, String)]) async throws -> LookupAnswer {
        guard let target else { throw BackChannelFailure.unusableURL }
        let due = NIODeadline.now() + deadline
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.basePath + path)
        head.headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        var (channel, reused) = try await checkOut(due: due)
        while true {
            do {
                let answer = try await send(head, on: channel, due: due)
                checkIn(channel, keepAlive: answer.keepAlive)
                return answer
            } catch BackChannelFailure.closedBeforeAnswer where reused && NIODeadline.now() < due {
                // The login host closed it while it sat idle: once more, on a new connection.
                channel.close(promise: nil)
                channel = try await connect(due: due)
                reused = false
            } catch {
                discard(channel)
                throw error
            }
        }
    }

    private func send(_ head: HTTPRequestHead, on channel: any Channel, due: NIODeadline) async throws -> LookupAnswer {
        let promise = channel.eventLoop.makePromise(of: LookupAnswer.self)
        let timeout = channel.eventLoop.scheduleTask(deadline: due) {
            promise.fail(BackChannelFailure.timedOut)
            channel.close(promise: nil)
        }
        // Cancelled on the connection's event loop the moment the answer is whole, not
        // when this task next runs: on a busy machine that can be after the deadline, and
        // the timer would then close a connection that had answered in time.
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        // A connection closed before the request reached it never sees it: nothing was asked.
        channel.writeAndFlush(LookupRequest(head: head, answer: promise)).whenFailure { _ in
            promise.fail(BackChannelFailure.closedBeforeAnswer)
        }
        return try await promise.futureResult.get()
    }

    /// An idle connection (`reused`), or a new one in a free slot, waiting for either
    /// when every slot is taken, until `due` at most.
    private func checkOut(due: NIODeadline) async throws -> (channel: any Channel, reused: Bool) {
        var taken = state.withLock { $0.take() }
        if taken == nil {
            var timer: Scheduled<Void>?
            let handed = await withCheckedContinuation { (continuation: CheckedContinuation<Result<(any Channel)?, BackChannelFailure>, Never>) in
                enum Now { case taken(Taken), queued(UInt64) }
                let now: Now = state.withLock { state in
                    if let now = state.take() { return .taken(now) }
                    let id = state.nextWaiter
                    state.nextWaiter += 1
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .queued(id)
                }
                switch now {
                case .taken(.idle(let channel)): continuation.resume(returning: .success(channel))
                case .taken(.slot): continuation.resume(returning: .success(nil))
                case .queued(let id):
                    // Unless a connection comes free first, the deadline takes the waiter out.
                    timer = group.any().scheduleTask(deadline: due) { [self] in
                        state.withLock { $0.removeWaiter(id) }?.continuation.resume(returning: .failure(.timedOut))
                    }
                }
            }
            timer?.cancel()
            taken = try handed.get().map { Taken.idle($0) } ?? Taken.slot
        }
        switch taken {
        case .idle(let channel) where channel.isActive:
            return (channel, true)
        case .idle(let channel):
            // Its slot is this request's now: a new connection in it.
            channel.close(promise: nil)
            return (try await connect(due: due), false)
        case .slot, nil:
            return (try await connect(due: due), false)
        }
    }

    /// Opens a connection in a slot the caller holds, within the connect timeout and
    /// before `due`; frees the slot if that fails.
    private func connect(due: NIODeadline) async throws -> any Channel {
        do {
            return try await openChannel(due: due)
        } catch {
            release()
            throw error
        }
    }

    private func openChannel(due: NIODeadline) async throws -> any Channel {
        guard let target else { throw BackChannelFailure.unusableURL }
        if target.tls, sslContext == nil { throw BackChannelFailure.unusableTLS }
        let left = due - NIODeadline.now()
        guard left > .zero else { throw BackChannelFailure.timedOut }
        let sslContext = self.sslContext
        let maximumBody = Self.maximumBody
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(min(connectTimeout, left))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: target.serverHostname))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(LookupHandler(maximumBody: maximumBody))
                }
            }
        return try await bootstrap.connect(host: target.host, port: target.port).get()
    }

    /// Back to the pool after a whole answer: to the first waiter, or idle; closed when
    /// the answer did not allow keep-alive.
    private func checkIn(_ channel: any Channel, keepAlive: Bool) {
        guard keepAlive, channel.isActive else { return discard(channel) }
        let waiter: Waiter? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(channel)
            return nil
        }
        waiter?.continuation.resume(returning: .success(channel))
    }

    /// Closes `channel`; its slot goes to the first waiter, or is freed.
    private func discard(_ channel: any Channel) {
        channel.close(promise: nil)
        release()
    }

    private func release() {
        let waiter: Waiter? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .success(nil))
    }
}

enum BackChannelFailure: Error, Equatable {
    /// `login_backchannel_url` could not be parsed (the configuration check refuses it first).
    case unusableURL
    /// An https URL, and no TLS context could be made from the client's configuration.
    case unusableTLS
    case timedOut
    /// The connection closed before a whole answer arrived.
    case closedBeforeAnswer
    case tooLarge
    case protocolError
}

/// A lookup handed to the channel: the request head, and where its answer goes.
struct LookupRequest: Sendable {
    var head: HTTPRequestHead
    var answer: EventLoopPromise<LookupAnswer>
}

/// A whole answer, and whether its connection may be reused.
struct LookupAnswer: Sendable {
    var status: Int
    var body: ByteBuffer
    var keepAlive: Bool
}

/// Writes one ``LookupRequest`` at a time and completes its promise with the whole
/// answer, or fails it when the answer is too large, malformed, or never comes.
final class LookupHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = LookupRequest
    typealias OutboundOut = HTTPClientRequestPart

    private let maximumBody: Int
    private var pending: EventLoopPromise<LookupAnswer>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    init(maximumBody: Int) {
        self.maximumBody = maximumBody
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard pending == nil else {
            // One at a time: the pool never sends a second before the first is answered.
            request.answer.fail(BackChannelFailure.protocolError)
            promise?.fail(BackChannelFailure.protocolError)
            return
        }
        pending = request.answer
        head = nil
        body = nil
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            // An interim 1xx answer is not the answer; nothing here asks for one.
            guard pending != nil, head == nil, responseHead.status.code >= 200 else { return fail(context, .protocolError) }
            head = responseHead
        case .body(var part):
            guard pending != nil, head != nil else { return fail(context, .protocolError) }
            guard (body?.readableBytes ?? 0) + part.readableBytes <= maximumBody else { return fail(context, .tooLarge) }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let pending, let head else { return fail(context, .protocolError) }
            self.pending = nil
            self.head = nil
            let answer = LookupAnswer(
                status: Int(head.status.code), body: body ?? ByteBuffer(), keepAlive: head.isKeepAlive)
            body = nil
            pending.succeed(answer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let pending {
            self.pending = nil
            pending.fail(head == nil ? BackChannelFailure.closedBeforeAnswer : BackChannelFailure.protocolError)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let pending {
            self.pending = nil
            // Before any answer, a reset or a TLS close without close_notify is how a peer
            // that dropped an idle connection shows itself: as retryable as a clean close.
            pending.fail(head == nil ? BackChannelFailure.closedBeforeAnswer : error)
        }
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ failure: BackChannelFailure) {
        if let pending {
            self.pending = nil
            pending.fail(failure)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension LookupHandler: Sendable {}

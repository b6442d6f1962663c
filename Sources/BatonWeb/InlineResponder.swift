#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers, on the connection's own event loop and without a task, the requests a host
/// can decide from memory alone; every other request passes on to Hummingbird as it
/// came. A forward-auth check (`/sso/auth`) sits in front of every request to an app:
/// most find their session in the gate's cache, and for those the hop from the event
/// loop to a task and back cost more than the decision.
///
/// `answer` gets a request with no body and gives the whole response (status and
/// headers, no body), or nil to let Hummingbird answer it. It must not block: it runs
/// on the event loop. The handler adds the `Date` header Hummingbird would.
///
/// At most ``answersPerRead`` requests of one read are answered here: a client that
/// pipelines thousands of requests must not hold the event loop, which its other
/// connections share, for longer than that many answers take; the rest of the read
/// goes to the router, whose work runs off the loop, one request at a time.
///
/// A request is only answered here when nothing passed on to Hummingbird on this
/// connection is still unanswered (else the answers of pipelined requests would overtake
/// each other); when the channel is writable (else answers would pile up in memory for a
/// client that sends and never reads: passed on, they meet Hummingbird's backpressure,
/// which stops reading); when it declares no body (`Content-Length` other than 0,
/// `Transfer-Encoding`); and when neither it nor an earlier request asked to close the
/// connection (`Connection: close`, which Hummingbird's connection loop honours by
/// answering nothing after it) and the connection's output is not closed. Every other
/// request passes on. It sits right after
/// Hummingbird's `HTTPConnectionStateHandler` (Baton's `InlineChannel` puts it there), so
/// the idle timeout and a graceful shutdown count its requests as they count any other,
/// and so do the request deadline and the connection cap, which come before.
public final class InlineResponder: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart
    /// The response for a request, or nil to pass it on.
    public typealias Answer = @Sendable (HTTPRequest) -> HTTPResponse?

    private let path: String
    private let answer: Answer
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    /// A head held until its end shows that no body follows.
    private var held: HTTPRequest?
    /// Whether this read's answers still wait for a flush.
    private var unflushed = false
    /// A request asked to close the connection, or its output is closed: nothing more
    /// is answered here. (NIO's decoder already yields no request after one that asks
    /// to close; this does not rely on it.)
    private var closing = false

    /// How many requests of one read may be answered here; proxies send one request at
    /// a time per connection.
    public static let answersPerRead = 8
    /// What is left of that for the read under way.
    private var budget = InlineResponder.answersPerRead

    /// Offers `answer` the requests for `path` (the request target's path, exactly:
    /// anything else passes on untouched).
    public init(path: String, answer: @escaping Answer) {
        self.path = path
        self.answer = answer
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            // Never two held heads: the decoder ends each request before the next.
            if let earlier = held { passOn(earlier, context: context) }
            if passedOn == 0, budget > 0, !closing, context.channel.isWritable, mayAnswer(head) {
                held = head
            } else {
                if Self.asksToClose(head) { closing = true }
                passedOn += 1
                context.fireChannelRead(data)
            }
        case .body:
            if let head = held { passOn(head, context: context) }
            context.fireChannelRead(data)
        case .end:
            guard let head = held else { return context.fireChannelRead(data) }
            held = nil
            guard var response = answer(head) else {
                passOn(head, context: context)
                return context.fireChannelRead(data)
            }
            budget -= 1
            response.headerFields[.date] = HTTPDate.now()
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        budget = Self.answersPerRead
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .outputClosed? = event as? ChannelEvent { closing = true }
        context.fireUserInboundEventTriggered(event)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response) where response.headerFields[.connection]?.lowercased() == "close": closing = true
        case .end where passedOn > 0: passedOn -= 1
        default: break
        }
        context.write(data, promise: promise)
    }

    private func passOn(_ head: HTTPRequest, context: ChannelHandlerContext) {
        held = nil
        passedOn += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// The request is for `path` and declares neither a body nor the end of the connection.
    private func mayAnswer(_ head: HTTPRequest) -> Bool {
        guard let target = head.path, target.utf8.starts(with: path.utf8) else { return false }
        let rest = target.utf8.dropFirst(path.utf8.count)
        guard rest.isEmpty || rest.first == UInt8(ascii: "?") else { return false }
        let fields = head.headerFields
        if fields[.transferEncoding] != nil { return false }
        if let length = fields[values: .contentLength].first, fields[values: .contentLength].count > 1 || length != "0" {
            return false
        }
        return !Self.asksToClose(head)
    }

    /// `Connection: close`, in any of the header's values.
    private static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "close" }
        }
    }
}

@available(*, unavailable)
extension InlineResponder: Sendable {}

/// The `Date` header's value (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`),
/// formatted once a second.
enum HTTPDate {
    private static let last = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        let second = Int(time(nil))
        return last.withLock { last in
            if last.second != second { last = (second, format(second)) }
            return last.text
        }
    }

    static func format(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

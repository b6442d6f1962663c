import BatonTestSupport
import BatonWeb
import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// ``InlineResponder`` alone in an `EmbeddedChannel`: when it answers, when it passes a
/// request on, and that it never lets an answer overtake one the router owes. What the
/// router would do with a passed-on request is played by the test (writing its answer).
@Suite("InlineResponder: which requests it answers, in which order")
struct InlineResponderTests {
    static func channel(_ count: TestHosts.InlineAnswerCount) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            InlineResponder(path: "/probe") { _ in
                count.add()
                return HTTPResponse(status: .noContent, headerFields: [.contentLength: "0"])
            })
        return channel
    }

    static func request(_ path: String, _ fields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .get, scheme: nil, authority: "login.localhost:8080", path: path, headerFields: fields)
    }

    /// One read carrying `requests`, each with no body.
    static func read(_ requests: [HTTPRequest], into channel: EmbeddedChannel) {
        for request in requests {
            channel.pipeline.fireChannelRead(HTTPRequestPart.head(request))
            channel.pipeline.fireChannelRead(HTTPRequestPart.end(nil))
        }
        channel.pipeline.fireChannelReadComplete()
    }

    /// The statuses of the answers written so far, and the paths of the requests passed on.
    static func drain(_ channel: EmbeddedChannel) throws -> (answered: [Int], passedOn: [String]) {
        var answered: [Int] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
            if case .head(let head) = part { answered.append(head.status.code) }
        }
        var passedOn: [String] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) {
            if case .head(let head) = part { passedOn.append(head.path ?? "") }
        }
        return (answered, passedOn)
    }

    /// The router's answer to one passed-on request.
    static func routerAnswers(_ channel: EmbeddedChannel, _ fields: HTTPFields = [:]) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: fields)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    @Test("a request for the path with no body is answered, with a Date; others pass on untouched")
    func answersItsPath() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        Self.read([Self.request("/probe"), Self.request("/probe?x=1")], into: channel)
        let first = try channel.readOutbound(as: HTTPResponsePart.self)
        guard case .head(let head) = first else { Issue.record("no answer: \(String(describing: first))"); return }
        #expect(head.status == .noContent)
        #expect(head.headerFields[.date] != nil)
        _ = try Self.drain(channel)
        #expect(count.value == 2)
        for path in ["/probes", "/probe/x", "/other", "http://login.localhost:8080/probe"] {
            Self.read([Self.request(path)], into: channel)
            let (answered, passedOn) = try Self.drain(channel)
            #expect(answered.isEmpty && passedOn == [path])
            try Self.routerAnswers(channel)
            _ = try Self.drain(channel)
        }
        #expect(count.value == 2)
    }

    @Test("behind a request passed on, nothing is answered until the router has answered it")
    func neverOvertakes() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        Self.read([Self.request("/other"), Self.request("/probe")], into: channel)
        var (answered, passedOn) = try Self.drain(channel)
        #expect(answered.isEmpty)
        #expect(passedOn == ["/other", "/probe"])
        try Self.routerAnswers(channel)
        // The router still owes the second.
        Self.read([Self.request("/probe")], into: channel)
        (answered, passedOn) = try Self.drain(channel)
        #expect(answered == [200])
        #expect(passedOn == ["/probe"])
        try Self.routerAnswers(channel)
        try Self.routerAnswers(channel)
        _ = try Self.drain(channel)
        Self.read([Self.request("/probe")], into: channel)
        #expect(try Self.drain(channel).answered == [204])
        #expect(count.value == 1)
    }

    @Test("at most answersPerRead of one read are answered; the rest of it goes to the router")
    func boundedPerRead() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        Self.read(Array(repeating: Self.request("/probe"), count: 20), into: channel)
        let (answered, passedOn) = try Self.drain(channel)
        #expect(answered.count == InlineResponder.answersPerRead)
        #expect(passedOn.count == 20 - InlineResponder.answersPerRead)
        #expect(count.value == InlineResponder.answersPerRead)
    }

    @Test("while the channel is not writable, requests pass on (to the router's backpressure)")
    func notWritable() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        channel.isWritable = false
        Self.read([Self.request("/probe")], into: channel)
        var (answered, passedOn) = try Self.drain(channel)
        #expect(answered.isEmpty && passedOn == ["/probe"])
        try Self.routerAnswers(channel)
        _ = try Self.drain(channel)
        channel.isWritable = true
        Self.read([Self.request("/probe")], into: channel)
        (answered, passedOn) = try Self.drain(channel)
        #expect(answered == [204] && passedOn.isEmpty)
    }

    @Test("a declared body, Connection: close, and anything after a close pass on")
    func bodiesAndCloses() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        for fields: HTTPFields in [[.contentLength: "5"], [.transferEncoding: "chunked"], [.contentLength: "0", .contentLength: "0"]] {
            channel.pipeline.fireChannelRead(HTTPRequestPart.head(Self.request("/probe", fields)))
            #expect(try Self.drain(channel).passedOn == ["/probe"], "\(fields) was held")
            channel.pipeline.fireChannelRead(HTTPRequestPart.end(nil))
            channel.pipeline.fireChannelReadComplete()
            try Self.routerAnswers(channel)
            _ = try Self.drain(channel)
        }
        Self.read([Self.request("/probe", [.contentLength: "0"])], into: channel)
        #expect(try Self.drain(channel).answered == [204], "an empty declared body is no body")
        Self.read([Self.request("/probe", [.connection: "keep-alive, Close"])], into: channel)
        #expect(try Self.drain(channel).passedOn == ["/probe"])
        try Self.routerAnswers(channel)
        Self.read([Self.request("/probe")], into: channel)
        #expect(try Self.drain(channel).passedOn == ["/probe"], "answered after a request asked to close")
        #expect(count.value == 1)
    }

    @Test("after the router answers with Connection: close, nothing more is answered here")
    func routerCloses() throws {
        let count = TestHosts.InlineAnswerCount()
        let channel = try Self.channel(count)
        Self.read([Self.request("/other")], into: channel)
        try Self.routerAnswers(channel, [.connection: "close"])
        _ = try Self.drain(channel)
        Self.read([Self.request("/probe")], into: channel)
        #expect(try Self.drain(channel).passedOn == ["/probe"])
        #expect(count.value == 0)
    }
}

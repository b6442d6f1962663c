import BatonWeb
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

/// The Cookie header read byte for byte, as RFC 6265 §5.4 and every browser write it:
/// found by the web fuzz harness (Fuzz/), whose byte-level reading disagreed with
/// Baton's `Character`-based one.
@Suite("BatonCookie: the Cookie header read byte for byte")
struct CookieReadingTests {
    func request(_ headers: String...) -> Request {
        var fields = HTTPFields()
        for header in headers { fields.append(HTTPField(name: .cookie, value: header)) }
        return Request(
            head: HTTPRequest(method: .get, scheme: "https", authority: "rp.example", path: "/", headerFields: fields),
            body: RequestBody(buffer: ByteBuffer()))
    }

    @Test("a cookie planted after U+037E GREEK QUESTION MARK (equal to ';' as a Swift Character) is not a __Host- cookie")
    func greekQuestionMarkIsNoSeparator() {
        // Any sibling domain can set `tracker`; only this host can set a __Host- cookie.
        let planted = request("tracker=1\u{37E}__Host-baton_session=attacker")
        #expect(BatonCookie.session.value(in: planted) == nil)
        #expect(!BatonCookie.session.isPresent(in: planted))
        let beside = request("tracker=1\u{37E}__Host-baton_session=attacker; __Host-baton_session=real")
        #expect(BatonCookie.session.value(in: beside) == "real")
        #expect(BatonCookie.csrf.value(in: request("__Host-baton_state=s1;  \u{37E} __Host-baton_csrf=c1")) == nil)
    }

    @Test("a combining mark after '=' is part of the value, not another character than '='")
    func combiningMarkAfterEquals() {
        #expect(BatonCookie.state.value(in: request("__Host-baton_state=\u{301}abc")) == "\u{301}abc")
        #expect(BatonCookie.state.value(in: request("__Host-baton_state\u{301}=abc")) == nil)
    }

    @Test("a cookie after a tab is both read and present")
    func tabBeforeTheName() {
        let tabbed = request("x=1;\t__Host-baton_return=abc")
        #expect(BatonCookie.returnTo.value(in: tabbed) == "abc")
        #expect(BatonCookie.returnTo.isPresent(in: tabbed))
    }

    @Test("still: sent twice, empty or too long is no value; a longer name is another cookie")
    func refusals() {
        #expect(BatonCookie.session.value(in: request("__Host-baton_session=a", "__Host-baton_session=b")) == nil)
        #expect(BatonCookie.session.value(in: request("__Host-baton_session=")) == nil)
        #expect(BatonCookie.session.isPresent(in: request("__Host-baton_session=")))
        #expect(BatonCookie.session.value(in: request("__Host-baton_session=" + String(repeating: "a", count: 257))) == nil)
        #expect(BatonCookie.session.value(in: request("__Host-baton_sessionX=a; __Host-baton_session=b")) == "b")
    }
}

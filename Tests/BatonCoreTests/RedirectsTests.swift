import Testing

@testable import BatonCore

/// `return_to` and `continue` must be a plain path on this host; `state` has a fixed
/// alphabet and length.
@Suite("Redirects: local paths and state")
struct RedirectsTests {
    @Test("plain local paths are kept as they are", arguments: ["/", "/reports?x=1", "/a/b/c", "/reports?x=1&y=%20z", "/a#frag", "/%41", "/-_.~!$&'()*+,;=:@"])
    func acceptsLocalPaths(path: String) {
        #expect(Redirects.localPath(path) == path)
        #expect(Redirects.localPathOrRoot(path) == path)
    }

    @Test(
        "anything a browser could read as another origin, or that could split a header, is refused",
        arguments: [
            "", "x", "reports", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
            "https://evil.example", "http:evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x",
            "/%2F%2Fevil.example", "/%2f%2fevil.example", "/%2Fevil.example", "/%5Cevil.example", "/%5cevil.example",
            "/a%0d%0aSet-Cookie:x", "/a%0aSet-Cookie:x", "/a%00", "/a%09b", "/a%7f",
            "/a\r\nSet-Cookie:x", "/a\rb", "/a\nb", "/a\tb", "/a b", "/a\u{0}", "/a\u{7f}", "/\u{fc}", "/caf\u{e9}",
            "/\u{2028}", "/\u{ff0f}evil.example", " /a", "/a ", "/%", "/%zz", "/%E9",
            "/" + String(repeating: "a", count: 2048),
        ])
    func refusesEverythingElse(raw: String) {
        #expect(Redirects.localPath(raw) == nil)
        #expect(Redirects.localPathOrRoot(raw) == "/")
    }

    // Found by the web fuzz harness's invariant (a local path stays local once decoded,
    // byte for byte): a combining mark or a zero-width joiner after the decoded `/` or
    // `\` made one `Character` of the two, which `hasPrefix("//")` and `contains("\\")`
    // did not see.
    @Test(
        "an encoded slash or backslash followed by a combining mark or joiner is refused",
        arguments: ["/%2F%CC%81evil.example", "/%5C%CC%81evil.example", "/%2F%E2%80%8Devil.example", "/a%5C%CC%81b"])
    func refusesEncodedSlashWithCombiningMark(raw: String) {
        #expect(Redirects.localPath(raw) == nil)
        #expect(Redirects.localPathOrRoot(raw) == "/")
    }

    @Test("nil is refused")
    func refusesNil() {
        #expect(Redirects.localPath(nil) == nil)
        #expect(Redirects.localPathOrRoot(nil) == "/")
    }

    @Test("a long path up to 2048 bytes is fine")
    func lengthLimit() {
        let longest = "/" + String(repeating: "a", count: 2047)
        #expect(Redirects.localPath(longest) == longest)
    }

    @Test("state: 16 to 256 characters of A-Za-z0-9-_")
    func stateLength() {
        #expect(!Redirects.isValidState(""))
        #expect(!Redirects.isValidState(String(repeating: "a", count: 15)))
        #expect(Redirects.isValidState(String(repeating: "a", count: 16)))
        #expect(Redirects.isValidState(String(repeating: "Z", count: 256)))
        #expect(!Redirects.isValidState(String(repeating: "a", count: 257)))
        #expect(Redirects.isValidState("AZaz09-_AZaz09-_"))
        #expect(Redirects.isValidState(Secrets.random(bytes: 24)))
    }

    @Test("state: a single bad character anywhere is refused", arguments: ["+", "/", "=", " ", ".", "%", "\u{e9}", "\n", "\u{0}", "~", "*"])
    func stateAlphabet(bad: String) {
        let base = String(repeating: "a", count: 20)
        #expect(!Redirects.isValidState(bad + base))
        #expect(!Redirects.isValidState(base + bad))
        #expect(!Redirects.isValidState(String(base.prefix(10)) + bad + String(base.suffix(10))))
    }

    @Test("a token is appended to a registered URI with ? or &, percent-encoded")
    func appending() {
        #expect(Redirects.appending("token", "a.b-c_d", to: "http://dashboard.localhost:8081/sso/callback")
            == "http://dashboard.localhost:8081/sso/callback?token=a.b-c_d")
        #expect(Redirects.appending("token", "x", to: "http://r.localhost/cb?v=1") == "http://r.localhost/cb?v=1&token=x")
        #expect(Redirects.appending("token", "a&b=c#d", to: "http://r.localhost/cb") == "http://r.localhost/cb?token=a%26b%3Dc%23d")
    }
}

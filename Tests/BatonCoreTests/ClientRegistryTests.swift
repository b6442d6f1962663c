import Testing

@testable import BatonCore

/// `/handoff` parameters: a known client, a `redirect_uri` registered for it byte for
/// byte, and a well-formed state; back-channel credentials compared safely.
@Suite("ClientRegistry: handoff requests and client authentication")
struct ClientRegistryTests {
    static let callback = "http://dashboard.localhost:8081/sso/callback"
    static let cafe = "http://dashboard.localhost:8081/caf\u{e9}"
    static let secret = "dashboard-back-channel-secret-0123456789"
    let state = "abcdefghijklmnop-_0123456789"

    let registry = ClientRegistry([
        .init(clientID: "dashboard", redirectURIs: [callback, cafe], secretHash: Secrets.hash(secret)),
        .init(clientID: "reports", redirectURIs: ["http://reports.localhost:8082/sso/callback"], secretHash: Secrets.hash("reports-secret-0123456789abcdef")),
    ])

    @Test("a registered client, its exact redirect_uri and a good state pass")
    func accepts() throws {
        let client = try registry.validateHandoff(clientID: "dashboard", redirectURI: Self.callback, state: state)
        #expect(client.clientID == "dashboard")
        #expect(try registry.validateHandoff(clientID: "dashboard", redirectURI: Self.cafe, state: state).clientID == "dashboard")
    }

    @Test(
        "any redirect_uri that is not byte for byte a registered one is refused",
        arguments: [
            "http://evil.localhost:8081/sso/callback",
            "http://dashboard.localhost:8082/sso/callback",
            "https://dashboard.localhost:8081/sso/callback",
            "http://dashboard.localhost/sso/callback",
            "http://dashboard.localhost:8081/sso/other",
            "http://dashboard.localhost:8081/sso/callbac",
            "http://dashboard.localhost:8081/sso/callback/",
            "http://dashboard.localhost:8081/sso/callback/..",
            "http://dashboard.localhost:8081/sso/../sso/callback",
            "http://dashboard.localhost:8081/sso/./callback",
            "http://dashboard.localhost:8081//sso/callback",
            "http://DASHBOARD.localhost:8081/sso/callback",
            "HTTP://dashboard.localhost:8081/sso/callback",
            "http://dashboard.localhost:8081/SSO/callback",
            "http://dashboard.localhost:8081/sso/callback?x=1",
            "http://dashboard.localhost:8081/sso/callback?",
            "http://dashboard.localhost:8081/sso/callback#x",
            "http://dashboard.localhost:8081/sso/callback#",
            "http://dashboard.localhost:8081@evil.example/sso/callback",
            "http://user@dashboard.localhost:8081/sso/callback",
            "http://dashboard.localhost:8081/sso%2Fcallback",
            "http://dashboard.localhost:8081/sso/%63allback",
            "http://dashboard\u{3002}localhost:8081/sso/callback",
            "http://dashboard\u{ff0e}localhost:8081/sso/callback",
            "http://dashboard.localhost.:8081/sso/callback",
            "http://dashboard.localhost:8081/sso/callback ",
            " http://dashboard.localhost:8081/sso/callback",
            "http://dashboard.localhost:8081/sso/callback\n",
            "//dashboard.localhost:8081/sso/callback",
            "/sso/callback",
            "http://reports.localhost:8082/sso/callback",
            "",
        ])
    func refusesOtherRedirectURIs(uri: String) {
        #expect(throws: ClientRegistry.HandoffRequestError.unregisteredRedirectURI) {
            try registry.validateHandoff(clientID: "dashboard", redirectURI: uri, state: state)
        }
    }

    @Test("canonically equivalent Unicode is still a different byte string")
    func unicodeNormalisation() {
        let decomposed = "http://dashboard.localhost:8081/cafe\u{301}"
        #expect(decomposed == Self.cafe)  // Swift's == says equal...
        #expect(throws: ClientRegistry.HandoffRequestError.unregisteredRedirectURI) {  // ...the registry does not.
            try registry.validateHandoff(clientID: "dashboard", redirectURI: decomposed, state: state)
        }
    }

    @Test("a missing redirect_uri is refused")
    func missingRedirectURI() {
        #expect(throws: ClientRegistry.HandoffRequestError.unregisteredRedirectURI) {
            try registry.validateHandoff(clientID: "dashboard", redirectURI: nil, state: state)
        }
    }

    @Test("an unknown or missing client is refused before anything else", arguments: [String?.none, "", "evil", "Dashboard", "dashboard "])
    func unknownClient(clientID: String?) {
        #expect(throws: ClientRegistry.HandoffRequestError.unknownClient) {
            try registry.validateHandoff(clientID: clientID, redirectURI: Self.callback, state: state)
        }
        #expect(throws: ClientRegistry.HandoffRequestError.unknownClient) {
            try registry.validateHandoff(clientID: clientID, redirectURI: nil, state: nil)
        }
    }

    @Test("a missing or malformed state is refused", arguments: [String?.none, "", "short", String(repeating: "a", count: 15), String(repeating: "a", count: 257), "abcdefghijklmnop+", "abcdefghijklmnop=", "abcdefghijklmnop q"])
    func badState(state: String?) {
        #expect(throws: ClientRegistry.HandoffRequestError.invalidState) {
            try registry.validateHandoff(clientID: "dashboard", redirectURI: Self.callback, state: state)
        }
    }

    @Test("another client's redirect_uri is not this client's")
    func crossClient() {
        #expect(throws: ClientRegistry.HandoffRequestError.unregisteredRedirectURI) {
            try registry.validateHandoff(clientID: "reports", redirectURI: Self.callback, state: state)
        }
    }

    @Test("authenticate: the right secret for the right client, nothing else")
    func authenticate() {
        #expect(registry.authenticate(clientID: "dashboard", secret: Self.secret)?.clientID == "dashboard")
        #expect(registry.authenticate(clientID: "dashboard", secret: Self.secret + "x") == nil)
        #expect(registry.authenticate(clientID: "dashboard", secret: String(Self.secret.dropLast())) == nil)
        #expect(registry.authenticate(clientID: "dashboard", secret: Self.secret.uppercased()) == nil)
        #expect(registry.authenticate(clientID: "dashboard", secret: "") == nil)
        #expect(registry.authenticate(clientID: "dashboard", secret: Secrets.hash(Self.secret)) == nil)
        #expect(registry.authenticate(clientID: "reports", secret: Self.secret) == nil)
        #expect(registry.authenticate(clientID: "unknown", secret: Self.secret) == nil)
        #expect(registry.authenticate(clientID: "", secret: "") == nil)
    }
}

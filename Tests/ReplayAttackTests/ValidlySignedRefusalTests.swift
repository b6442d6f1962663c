import BatonAttack
import BatonCore
import BatonTestSupport
import Crypto
import Foundation
import Testing

/// Tokens signed with the login host's real key — correct `kid`, `typ` and `alg`, a
/// signature that verifies — whose claims are wrong: the relying party must refuse
/// each for its claim, over real sockets, with the right state cookie, and create no
/// session. A forgery suite that only ever sends bad signatures never reaches these
/// checks.
@Suite("Validly signed tokens with bad claims")
struct ValidlySignedRefusalTests {
    /// Signs handoff tokens as the login host does, from its key file: the active key's
    /// Ed25519 seed, written by hand into a compact JWS.
    struct LoginHostSigner {
        let kid: String
        let key: Curve25519.Signing.PrivateKey

        init(_ hosts: TestHosts) throws {
            let kid = hosts.keyRing.active(at: hosts.clock.now()).kid
            self.kid = kid
            let file = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hosts.keyFile))) as? [String: Any])
            let keys = try #require(file["keys"] as? [[String: Any]])
            let entry = try #require(keys.first { $0["kid"] as? String == kid }, "the active key is in the key file")
            #expect(entry["alg"] as? String == "EdDSA")
            let encoded = try #require(entry["seed"] as? String)
            let seed = try #require(Base64URL.decode(encoded))
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        }

        func sign(_ claims: [(String, String)]) throws -> String {
            let header = #"{"alg":"EdDSA","kid":"\#(kid)","typ":"handoff+jwt"}"#
            let payload = "{" + claims.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
            let signature = try key.signature(for: Array(input.utf8))
            return input + "." + Base64URL.encode(Array(signature))
        }
    }

    /// The claims of a real token, to copy `sid`, `nonce` and `aud` from.
    static func claims(of token: String) throws -> [String: Any] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        let payload = try #require(Base64URL.decode(String(parts[1])))
        return try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    }

    static func quoted(_ text: String) -> String { "\"" + text + "\"" }

    /// A signed-in browser without a dashboard session, in the middle of a sign-in (its
    /// state cookie set), with the real token the login host handed back for it.
    static func midSignIn(_ hosts: TestHosts) async throws -> (Browser, real: String, claims: [String: Any]) {
        let browser = try await hosts.signedInBrowser()
        await browser.jar.remove("__Host-baton_session", host: "dashboard.localhost")
        let callback = try await browser.obtainCallbackURL(rpOrigin: TestHosts.dashboardOrigin)
        let token = try #require(Browser.token(in: callback))
        return (browser, token, try claims(of: token))
    }

    /// The members of a good handoff token for `real`'s sign-in, with `changes` applied
    /// (raw JSON values; nil removes a claim).
    static func members(_ real: [String: Any], now: Int64, _ changes: [String: String?] = [:]) throws -> [(String, String)] {
        let base: [(String, String)] = [
            ("iss", quoted(TestHosts.loginOrigin)), ("aud", quoted(try #require(real["aud"] as? String))),
            ("sid", quoted(try #require(real["sid"] as? String))), ("jti", quoted(try #require(real["jti"] as? String))),
            ("iat", "\(now)"), ("exp", "\(now + 10)"), ("nonce", quoted(try #require(real["nonce"] as? String))),
        ]
        var result: [(String, String)] = []
        for (name, value) in base {
            if let change = changes[name] {
                if let change { result.append((name, change)) }
            } else {
                result.append((name, value))
            }
        }
        for (name, value) in changes where !base.contains(where: { $0.0 == name }) {
            if let value { result.append((name, value)) }
        }
        return result
    }

    @Test("the signer is the login host's: a good token it signs redeems (the positive control)")
    func signerIsGenuine() async throws {
        try await TestHosts.run { hosts in
            let signer = try LoginHostSigner(hosts)
            let (browser, _, real) = try await Self.midSignIn(hosts)
            let now = hosts.clock.now().unixSeconds
            // A jti of its own: the real token stays unredeemed.
            let token = try signer.sign(try Self.members(real, now: now, ["jti": Self.quoted(Secrets.random(bytes: 18))]))
            let response = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + token)
            #expect(response.status == 303, "\(response.batonError ?? "")")
            #expect(response.setCookie("__Host-baton_session") != nil)
        }
    }

    @Test(
        "a validly signed token is refused for its claim, creates no session and burns nothing",
        arguments: [
            ("token_wrong_issuer", ["iss": #""http://evil.localhost:8080""#]),
            ("token_wrong_issuer", ["iss": #""http://login.localhost:8080/""#]),
            ("token_lifetime_too_long", ["exp": "LATER61"]),
            ("token_lifetime_too_long", ["exp": "LATER3600"]),
            ("token_not_yet_valid", ["iat": "LATER30", "exp": "LATER40"]),
            // Just beyond the 2 s leeway whatever the fraction of the second the test starts in.
            ("token_not_yet_valid", ["iat": "LATER4", "exp": "LATER14"]),
            ("token_not_yet_valid", ["nbf": "LATER5"]),
        ] as [(String, [String: String])])
    func refusedForItsClaim(code: String, changes: [String: String]) async throws {
        try await TestHosts.run { hosts in
            let signer = try LoginHostSigner(hosts)
            let (browser, realToken, real) = try await Self.midSignIn(hosts)
            let now = hosts.clock.now().unixSeconds
            var resolved: [String: String?] = [:]
            for (name, value) in changes {
                resolved[name] = value.hasPrefix("LATER") ? "\(now + Int64(value.dropFirst(5))!)" : value
            }
            // The real token's jti: a refusal must leave it unburned.
            let token = try signer.sign(try Self.members(real, now: now, resolved))
            let response = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + token)
            #expect(response.status == 401)
            #expect(response.batonError == code)
            #expect(response.setCookie("__Host-baton_session") == nil)
            #expect(await browser.jar.value("__Host-baton_session", host: "dashboard.localhost") == nil)
            #expect(try await browser.get(TestHosts.dashboardOrigin + "/").status == 303, "a session exists after the refusal")
            // Nothing was burned and the state is still there: the real token redeems.
            let genuine = try await browser.get(TestHosts.dashboardOrigin + "/sso/callback?token=" + realToken)
            #expect(genuine.status == 303, "the real token after the refusal: \(genuine.batonError ?? "")")
        }
    }
}

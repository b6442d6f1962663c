import AsyncHTTPClient
import BatonCore
import Foundation
import Synchronization

/// What the cases share: browsers, a signed-in login cookie, fresh tokens, and the
/// helpers that judge a refusal.
public final class AttackContext: Sendable {
    public let target: AttackTarget
    let http: HTTPClient
    private let loginCookie = Mutex<String?>(nil)
    private let listener = Mutex<OutboundListener?>(nil)

    init(target: AttackTarget, http: HTTPClient) {
        self.target = target
        self.http = http
    }

    var login: String { target.loginOrigin }
    var dashboard: String { target.dashboardOrigin }

    func finish() async {
        if let listener = listener.withLock({ $0 }) { await listener.stop() }
    }

    /// A new browser profile with an empty jar.
    func browser() -> Browser { Browser(http: http, routes: target.routes) }

    /// A listener that must never be contacted.
    func outboundListener() async throws -> OutboundListener {
        if let existing = listener.withLock({ $0 }) { return existing }
        let fresh = try await OutboundListener.start()
        listener.withLock { $0 = fresh }
        return fresh
    }

    /// A new profile signed in on the login host (through the real form once; later
    /// profiles reuse that login session's cookie).
    func signedIn() async throws -> Browser {
        let browser = browser()
        let loginHost = PublicURL(login)!.host
        if let cookie = loginCookie.withLock({ $0 }) {
            await browser.jar.plant("__Host-baton_login", cookie, host: loginHost)
            let home = try await browser.get(login + "/")
            if home.status == 200 { return browser }
        }
        let trace = try await browser.signIn(rpOrigin: dashboard, username: target.username, password: target.password)
        guard trace.final.status == 200, let cookie = await browser.jar.value("__Host-baton_login", host: loginHost) else {
            throw BrowserError.unexpected("signing in as \(target.username) failed: ended with \(trace.final.status) at \(trace.final.url)")
        }
        loginCookie.withLock { $0 = cookie }
        let fresh = self.browser()
        await fresh.jar.plant("__Host-baton_login", cookie, host: loginHost)
        return fresh
    }

    /// A signed-in profile holding a fresh, unredeemed callback URL for `rpOrigin`
    /// (and that sign-in's state cookie).
    func freshToken(at rpOrigin: String? = nil) async throws -> (browser: Browser, callback: String, token: String) {
        let browser = try await signedIn()
        let callback = try await browser.obtainCallbackURL(rpOrigin: rpOrigin ?? dashboard)
        guard let token = Browser.token(in: callback) else { throw BrowserError.unexpected("no token in the callback URL") }
        return (browser, callback, token)
    }

    /// `GET rp/sso/callback?token=...` with the raw token text.
    func redeem(_ browser: Browser, token: String, at rpOrigin: String? = nil) async throws -> HTTPExchange {
        try await browser.get((rpOrigin ?? dashboard) + "/sso/callback?token=" + token)
    }

    /// The login host's JWKS: the public key any attacker can read.
    func publicKey() async throws -> (raw: [UInt8], jwk: String) {
        let response = try await browser().get(login + "/.well-known/jwks.json")
        guard response.status == 200, let document = try? JWKSDocument(json: Array(response.body.utf8)),
            let first = document.keys.first, let raw = Base64URL.decode(first.x)
        else { throw BrowserError.unexpected("no Ed25519 key in the JWKS (status \(response.status))") }
        let jwk = #"{"crv":"Ed25519","kid":"\#(first.kid)","kty":"OKP","x":"\#(first.x)"}"#
        return (raw, jwk)
    }

    /// Judges a refusal: the status PROTOCOL.md gives `code`, the `Baton-Error`
    /// header, and no session cookie.
    func refused(_ response: HTTPExchange, _ code: BatonError) -> Verdict {
        let sessionSet = response.setCookie("__Host-baton_session").map { !$0.hasPrefix("__Host-baton_session=;") } ?? false
        let got = "\(response.status) \(response.batonError ?? "-")"
        if response.status == code.status, response.batonError == code.code, !sessionSet {
            return .pass("refused with \(got)")
        }
        return .fail("expected \(code.status) \(code.code), got \(got)\(sessionSet ? " and a session cookie" : "")")
    }

    /// Judges a successful redemption: 303 and a new session cookie.
    func redeemed(_ response: HTTPExchange) -> Bool {
        response.status == 303 && response.setCookie("__Host-baton_session").map { !$0.hasPrefix("__Host-baton_session=;") } == true
    }
}

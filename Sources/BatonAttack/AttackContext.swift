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
    private let registrations = Mutex<[String: Registration]>([:])

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

    /// What a relying party is registered as on the login host, read from its own
    /// `/sso/start` redirect: the suite never assumes Baton's demo names.
    struct Registration: Sendable {
        let clientID: String
        let redirectURI: String
    }

    /// `rpOrigin`'s registration. Checked once: the login host must mint a token for
    /// exactly these parameters, or every case that varies them would pass for nothing.
    func registration(of rpOrigin: String) async throws -> Registration {
        if let known = registrations.withLock({ $0[rpOrigin] }) { return known }
        let browser = try await signedIn()
        let start = try await browser.get(rpOrigin + "/sso/start?return_to=%2F")
        guard start.status == 303, let handoff = start.resolvedLocation, handoff.hasPrefix(login + "/handoff?"),
            let query = PublicURL(handoff)?.queryItems,
            let clientID = query.first(where: { $0.name == "client_id" })?.value,
            let redirectURI = query.first(where: { $0.name == "redirect_uri" })?.value
        else {
            throw BrowserError.unexpected("\(rpOrigin)/sso/start answered \(start.status) to \(start.location ?? "nowhere"), not to \(login)/handoff")
        }
        let minted = try await browser.get(handoff, crossSite: true)
        guard minted.status == 302, let callback = minted.location, callback.hasPrefix(redirectURI), Browser.token(in: callback) != nil else {
            throw BrowserError.unexpected("/handoff did not mint for client \(clientID)'s own redirect_uri: \(minted.status)")
        }
        let registration = Registration(clientID: clientID, redirectURI: redirectURI)
        registrations.withLock { $0[rpOrigin] = registration }
        return registration
    }

    /// Posts the logout form of `origin/` (both hosts have one there while signed in).
    func logOut(_ browser: Browser, at origin: String) async throws -> HTTPExchange {
        let home = try await browser.get(origin + "/")
        guard let form = HTMLForm.logout(in: home.body, pageURL: home.url) else {
            throw BrowserError.unexpected("no <form method=post action=/logout> on \(origin)/ (it answered \(home.status))")
        }
        return try await browser.submit(form, on: home)
    }

    /// True when `response` sends a browser off to sign in at a relying party:
    /// `303 /sso/start?return_to=...` (PROTOCOL.md, the relying party's `GET /`).
    func sendsToSignIn(_ response: HTTPExchange) -> Bool {
        response.status == 303 && response.resolvedLocation.flatMap { PublicURL($0)?.path } == "/sso/start"
    }

    /// Judges a refusal: the status PROTOCOL.md gives `code`, the `Baton-Error`
    /// header, and no session cookie.
    func refused(_ response: HTTPExchange, _ code: BatonError) -> Verdict {
        refused(response, oneOf: [code])
    }

    /// Judges a refusal of a request with several faults: PROTOCOL.md lets the relying
    /// party refuse it for any one of them, so any of `codes` (with its status) passes,
    /// as long as no session cookie is set. The detail names the code it got.
    func refused(_ response: HTTPExchange, oneOf codes: [BatonError]) -> Verdict {
        let sessionSet = response.setCookie("__Host-baton_session").map { !$0.hasPrefix("__Host-baton_session=;") } ?? false
        let got = "\(response.status) \(response.batonError ?? "-")"
        let matches = codes.contains { response.status == $0.status && response.batonError == $0.code }
        if matches, !sessionSet {
            let others = codes.filter { $0.code != response.batonError }.map(\.code)
            return .pass("refused with \(got)" + (others.isEmpty ? "" : " (\(others.joined(separator: ", ")) would do too)"))
        }
        let expected = codes.map { "\($0.status) \($0.code)" }.joined(separator: " or ")
        return .fail("expected \(expected), got \(got)\(sessionSet ? " and a session cookie" : "")")
    }

    /// Judges a successful redemption: 303 and a new session cookie.
    func redeemed(_ response: HTTPExchange) -> Bool {
        response.status == 303 && response.setCookie("__Host-baton_session").map { !$0.hasPrefix("__Host-baton_session=;") } == true
    }

    /// After a refusal, the real callback again, with the sign-in's state cookie put
    /// back (a refusal may clear it): it redeems when the refusal burned nothing.
    func redeemAfterRefusal(_ browser: Browser, callback: String, state: String?, at rpOrigin: String? = nil) async throws -> HTTPExchange {
        let host = PublicURL(rpOrigin ?? dashboard)!.host
        if let state { await browser.jar.plant("__Host-baton_state", state, host: host) }
        return try await browser.get(callback)
    }

    /// Judges the real token's redemption after a forgery was refused: it redeems; or
    /// it is refused at the state check, which comes after the burn (step 4 after
    /// step 3), so its jti was not burned either (the refusal used up the state).
    func unburned(_ response: HTTPExchange) -> (Bool, String) {
        if redeemed(response) { return (true, "redeemed") }
        if [BatonError.stateMissing, .stateMismatch].contains(where: { response.batonError == $0.code && response.status == $0.status }) {
            return (true, "reached the state check (\(response.batonError ?? "")): its jti was not burned")
        }
        return (false, "answered \(response.status) \(response.batonError ?? "-"): the refusal burned it")
    }

    /// The browser's state cookie at `rpOrigin` (the dashboard by default).
    func stateCookie(_ browser: Browser, at rpOrigin: String? = nil) async -> String? {
        await browser.jar.value("__Host-baton_state", host: PublicURL(rpOrigin ?? dashboard)!.host)
    }
}

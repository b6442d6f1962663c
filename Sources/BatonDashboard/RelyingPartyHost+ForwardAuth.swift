import BatonCore
import BatonWeb
import Foundation
import HTTPTypes
import Hummingbird

extension RelyingPartyHost {
    /// `/sso/auth`, any method: a reverse proxy asks whether the request it is about to
    /// pass to the app carries a live session of this relying party (PROTOCOL.md
    /// "Forward auth"). 200 with the five identity headers; 401 (or, for a navigation
    /// with `redirect=1`, 303) with where to sign in; 403 `not_permitted` for a group
    /// rule; 503 when the store fails. It never sets a cookie, mints or burns anything,
    /// and reads no body.
    func forwardAuth(_ request: Request) async -> Response {
        let stopwatch = Stopwatch()
        defer { stopwatch.record(in: metrics.forwardAuthDuration) }
        let query = FormFields(query: request)
        let decision = await gate.check(cookie: BatonCookie.session.value(in: request), requiredGroups: query.all("group"))
        note(decision)
        let result: RelyingPartyMetrics.ForwardAuthResult
        let response: Response
        switch decision {
        case .admitted(let session):
            // The answer ``inlineForwardAuth(_:)`` gives from memory too: keep them alike.
            result = .ok
            response = Self.identityResponse(session.identity)
        case .signedOut:
            let signIn = signInURL(originalURI: ForwardedRequest.originalURI(request.headers))
            if query.single("redirect") == "1", ForwardedRequest.isNavigation(request.headers) {
                result = .redirected
                var redirect = Response.redirect(signIn)
                redirect.headers[.batonSignIn] = signIn
                response = redirect
            } else {
                result = .signedOut
                var page = pages.html(
                    "sign-in-required", ["title": "Sign in to \(configuration.title)", "site": configuration.title, "sign_in_url": signIn],
                    status: .unauthorized)
                page.headers[.batonSignIn] = signIn
                response = page
            }
        case .notPermitted:
            result = .notPermitted
            logger.event(.notPermitted, "forward auth refused: not permitted")
            response = refusal(.notPermitted)
        case .storeUnavailable:
            result = .storeUnavailable
            response = storeFailure(StoreError("the session store failed during forward auth"))
        }
        metrics.forwardAuth[result].increment()
        return response
    }

    /// `/sso/auth` answered on the connection's event loop (``InlineResponder``) when the
    /// gate can admit the session from memory (``SessionGate/decisionFromMemory(cookie:requiredGroups:)``):
    /// the same 200, headers and metrics as ``forwardAuth(_:)``, without the hop to a task
    /// and back. Any other outcome, and every request while requests are logged (debug),
    /// is left to ``forwardAuth(_:)``.
    public var inlineForwardAuth: (path: String, answer: InlineResponder.Answer) {
        (ForwardAuthMiddleware<BatonRequestContext>.path, { head in inlineForwardAuth(head) })
    }

    func inlineForwardAuth(_ head: HTTPRequest) -> HTTPResponse? {
        guard logger.logLevel > .debug, let target = head.path, !target.contains("#") else { return nil }
        let stopwatch = Stopwatch()
        let query = FormFields(queryOf: target)
        let decision = gate.decisionFromMemory(cookie: BatonCookie.session.value(in: head.headerFields), requiredGroups: query.all("group"))
        guard case .admitted(let session) = decision else { return nil }
        var response = Self.identityResponse(session.identity)
        securityHeaders.apply(to: &response.headers)
        metrics.forwardAuth[.ok].increment()
        stopwatch.record(in: metrics.forwardAuthDuration)
        return HTTPResponse(status: response.status, headerFields: response.headers)
    }

    /// Where to send a person who is not signed in: this relying party's `/sso/start`,
    /// back to the original request's path when it is a local one, else `/`.
    func signInURL(originalURI: String?) -> String {
        let returnTo = Redirects.localPathOrRoot(originalURI)
        return configuration.publicOrigin + "/sso/start?return_to="
            + (returnTo.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "%2F")
    }

    /// 200 with every identity header present, empty when unknown, so that a proxy
    /// copying them overwrites whatever the client sent.
    static func identityResponse(_ identity: Identity) -> Response {
        var headers = HTTPFields()
        headers[.batonUser] = headerSafe(identity.username)
        headers[.batonSubject] = headerSafe(identity.subject)
        headers[.batonName] = identity.displayName.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? ""
        headers[.batonEmail] = headerSafe(identity.email)
        headers[.batonGroups] = GroupName.joined(identity.groups)
        headers[.contentLength] = "0"
        return Response(status: .ok, headers: headers)
    }

    /// The value when it is printable ASCII, else empty: usernames, emails and subjects
    /// are ASCII by construction; a stray other byte must not reach a header.
    static func headerSafe(_ value: String) -> String {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f } ? value : ""
    }
}

/// What a reverse proxy tells `/sso/auth` about the request it is checking.
enum ForwardedRequest {
    /// The original path and query: `X-Forwarded-Uri` (Caddy, Traefik), else
    /// `X-Original-URI` (nginx). A header sent twice gives none: which copy the proxy
    /// wrote is not knowable.
    static func originalURI(_ headers: HTTPFields) -> String? {
        for name in [HTTPField.Name.xForwardedURI, .xOriginalURI] {
            let values = headers[values: name]
            if values.count == 1 { return values[0] }
            if values.count > 1 { return nil }
        }
        return nil
    }

    /// A navigation may be redirected to sign in: the original method is GET or HEAD
    /// (GET when the proxy does not say) and `Accept` lists `text/html`. XHR, JSON and
    /// form posts get a 401 they can handle instead. Where the request says it is not a
    /// navigation — `X-Requested-With: XMLHttpRequest`, or a browser's `Sec-Fetch-Mode`
    /// other than `navigate` — it is not one, whatever it accepts: a script must never
    /// be handed a redirect it would follow blindly.
    static func isNavigation(_ headers: HTTPFields) -> Bool {
        let method = (headers[.xForwardedMethod] ?? headers[.xOriginalMethod] ?? "GET").uppercased()
        guard method == "GET" || method == "HEAD" else { return false }
        if headers[values: .xRequestedWith].contains(where: { $0.lowercased() == "xmlhttprequest" }) { return false }
        if let mode = headers[.secFetchMode], mode.lowercased() != "navigate" { return false }
        return headers[values: .accept].flatMap { $0.split(separator: ",") }.contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "text/html" else { return false }
            // `q=0` means "not acceptable".
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
    }
}

extension HTTPField.Name {
    static let batonUser = HTTPField.Name("Baton-User")!
    static let batonSubject = HTTPField.Name("Baton-Subject")!
    static let batonName = HTTPField.Name("Baton-Name")!
    static let batonEmail = HTTPField.Name("Baton-Email")!
    static let batonGroups = HTTPField.Name("Baton-Groups")!
    static let batonSignIn = HTTPField.Name("Baton-Sign-In")!
    static let xForwardedURI = HTTPField.Name("X-Forwarded-Uri")!
    static let xOriginalURI = HTTPField.Name("X-Original-URI")!
    static let xForwardedMethod = HTTPField.Name("X-Forwarded-Method")!
    static let xOriginalMethod = HTTPField.Name("X-Original-Method")!
    static let xRequestedWith = HTTPField.Name("X-Requested-With")!
    static let secFetchMode = HTTPField.Name("Sec-Fetch-Mode")!
}

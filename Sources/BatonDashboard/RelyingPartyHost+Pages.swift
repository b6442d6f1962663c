import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension RelyingPartyHost {
    /// `GET /`: the protected page, or off to sign in.
    func home(_ request: Request) async -> Response {
        let decision = await gate.check(cookie: BatonCookie.session.value(in: request))
        note(decision)
        let session: RPSession
        switch decision {
        case .admitted(let admitted):
            session = admitted
        case .signedOut:
            var response = Response.redirect(retryURL)
            // A cookie that no longer authenticates is cleared, not left to linger.
            if request.headers[values: .cookie].contains(where: { $0.contains(BatonCookie.session.rawValue + "=") }) {
                response.setCookie(BatonCookie.session.clear())
            }
            return response
        case .notPermitted:
            logger.event(.notPermitted, "page refused: not permitted")
            return refusal(.notPermitted)
        case .storeUnavailable:
            return storeFailure(StoreError("the session store failed"))
        }
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var context: [String: Any] = [
            "title": configuration.title, "display_name": session.displayName, "username": session.username,
            "email": session.email, "groups": session.groups,
            "client_id": configuration.clientID, "login_origin": configuration.issuer, "csrf": csrf,
            "signed_in_at": session.createdAt.pageText,
        ]
        context.merge(TimelineView(session.timeline).context) { current, _ in current }
        var response = pages.html("dashboard-home", context)
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
    }

    /// `POST /logout` and `POST /sso/logout`: ends this relying party's session only
    /// (CSRF protected); the login session stays.
    func signOut(_ request: Request) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        guard CSRF.isValid(request, form: fields) else {
            logger.event(.csrfInvalid, "logout refused: the form's CSRF token is missing or wrong")
            return pages.formExpired(site: configuration.title)
        }
        if let cookie = BatonCookie.session.value(in: request) {
            let idHash = Secrets.hash(cookie)
            do {
                try await store.deleteRPSession(idHash: idHash)
            } catch {
                return storeFailure(error)
            }
            gate.forget(idHash: idHash)
        }
        // Not `/`: behind forward auth that would sign the person straight back in.
        var response = Response.redirect("/sso/signed-out")
        response.setCookie(BatonCookie.session.clear())
        return response
    }

    /// `GET /sso/logout`: a page whose form signs out of this relying party — the link
    /// an app behind forward auth gives its people (a link cannot carry the CSRF token).
    func signOutPage(_ request: Request) -> Response {
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var response = pages.html(
            "sign-out", ["title": "Sign out of \(configuration.title)", "site": configuration.title, "csrf": csrf, "login_origin": configuration.issuer])
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
    }

    /// `GET /sso/signed-out`: says so, and offers to sign in again.
    func signedOut(_ request: Request) -> Response {
        pages.html(
            "signed-out",
            ["title": configuration.title, "site": configuration.title, "retry_url": retryURL, "login_origin": configuration.issuer])
    }

    /// Counts and logs a session the gate has just ended.
    func note(_ decision: SessionGate.Decision) {
        guard case .signedOut(let ending?) = decision else { return }
        metrics.sessionsEnded[ending]?.increment()
        logger.event(.rpSessionEnded, level: .info, "session ended", metadata: ["reason": .string(ending.rawValue)])
    }
}

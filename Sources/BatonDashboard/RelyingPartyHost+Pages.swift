import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension RelyingPartyHost {
    /// `GET /`: the protected page, or off to sign in.
    func home(_ request: Request) async throws -> Response {
        let session: RPSession?
        do {
            session = try await currentSession(request)
        } catch {
            return storeFailure(error)
        }
        guard let session else {
            var response = Response.redirect("/sso/start?return_to=%2F")
            // A cookie that no longer authenticates is cleared, not left to linger.
            if BatonCookie.session.value(in: request) != nil { response.setCookie(BatonCookie.session.clear()) }
            return response
        }
        let (csrf, csrfCookie) = CSRF.token(for: request)
        var context: [String: Any] = [
            "title": configuration.title, "display_name": session.displayName, "username": session.username,
            "client_id": configuration.clientID, "login_origin": configuration.issuer, "csrf": csrf,
            "signed_in_at": session.createdAt.pageText,
        ]
        context.merge(TimelineView(session.timeline).context) { current, _ in current }
        var response = pages.html("dashboard-home", context)
        if let csrfCookie { response.setCookie(csrfCookie) }
        return response
    }

    /// `POST /logout`: ends this relying party's session only (CSRF protected).
    func signOut(_ request: Request) async throws -> Response {
        let fields = try await FormFields.body(of: request)
        guard CSRF.isValid(request, form: fields) else {
            return pages.formExpired(site: configuration.title)
        }
        if let cookie = BatonCookie.session.value(in: request) {
            do {
                try await store.deleteRPSession(idHash: Secrets.hash(cookie))
            } catch {
                return storeFailure(error)
            }
        }
        var response = Response.redirect("/signed-out")
        response.setCookie(BatonCookie.session.clear())
        return response
    }

    /// `GET /signed-out`: says so, and offers to sign in again.
    func signedOut(_ request: Request) -> Response {
        pages.html(
            "signed-out",
            ["title": configuration.title, "site": configuration.title, "retry_url": retryURL, "login_origin": configuration.issuer])
    }

    /// The live session this request's cookie names; an unknown cookie never
    /// authenticates, and an expired, idle or revoked session is removed.
    func currentSession(_ request: Request) async throws -> RPSession? {
        guard let cookie = BatonCookie.session.value(in: request),
            let session = try await store.rpSession(idHash: Secrets.hash(cookie)),
            session.clientID == configuration.clientID
        else { return nil }
        switch try await revalidator.check(session) {
        case .success(let live):
            return live
        case .failure(let ending):
            metrics.count("baton_rp_sessions_ended", [("reason", ending.rawValue)])
            logger.info("session ended", metadata: ["reason": .string(ending.rawValue), "sid": .string(Secrets.fingerprint(session.loginSID))])
            return nil
        }
    }
}

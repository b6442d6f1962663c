import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension LoginHost {
    /// `GET /handoff?client_id=&redirect_uri=&state=`: parameters first, signed in or
    /// not; a bad one is a 400 page and never a redirect. Then a 302 to the registered
    /// `redirect_uri` with a fresh token, or a 303 to the sign-in form.
    func handoff(_ request: Request) async throws -> Response {
        let query = FormFields(query: request)
        for name in ["client_id", "redirect_uri", "state"] where query.all(name).count > 1 {
            return refuse(.duplicateParameter)
        }
        let client: ClientRegistry.Client
        let redirectURI = query.single("redirect_uri") ?? ""
        let state = query.single("state") ?? ""
        do {
            client = try handoffRequests.validateHandoff(
                clientID: query.single("client_id"), redirectURI: query.single("redirect_uri"), state: query.single("state"))
        } catch {
            return refuse(error)
        }
        let session: LoginSession?
        do {
            session = try await service.session(cookie: BatonCookie.login.value(in: request))
        } catch {
            return storeUnavailable(error)
        }
        guard let session else {
            // Rebuilt from the checked values, not copied from the request.
            let again = "/handoff?client_id=\(encode(client.clientID))&redirect_uri=\(encode(redirectURI))&state=\(encode(state))"
            return .redirect("/login?continue=" + encode(again))
        }
        do {
            // Before the token exists: its relying party must hear of this session's end.
            try await service.recordHandoff(sid: session.sid, to: client.clientID)
        } catch {
            return storeUnavailable(error)
        }
        let minted: HandoffMinter.Minted
        do {
            let stopwatch = Stopwatch()
            minted = try await minter.mint(audience: client.clientID, sid: session.sid, state: state)
            stopwatch.record(in: metrics.mintDuration)
        } catch {
            logger.error("minting failed", metadata: ["error": .string(String(describing: error))])
            return pages.problem(
                .serviceUnavailable, title: "Sign-in is unavailable", explanation: "The login service could not sign a token.",
                site: "Baton login", retryURL: nil)
        }
        // Per request: at debug, like the request log.
        logger.debug(
            "handoff minted",
            metadata: ["client_id": .string(client.clientID), "jti": .string(Secrets.fingerprint(minted.jti))])
        metrics.mints[client.clientID]?.increment()
        return .redirect(Redirects.appending("token", minted.token, to: redirectURI), status: .found)
    }

    private func refuse(_ error: ClientRegistry.HandoffRequestError) -> Response {
        metrics.host.count(LoginMetrics.handoffRefused, [("reason", error.reason)])
        // A redirect_uri or client_id that is not registered is how token theft through
        // the login host is tried: nothing from the request is logged but the reason.
        logger.event(.handoffRefused, "handoff refused", metadata: ["reason": .string(error.reason)])
        return pages.problem(
            .badRequest, title: "This sign-in request is not valid", explanation: error.explanation, site: "Baton login",
            retryURL: nil)
    }

    private func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? ""
    }
}

extension ClientRegistry.HandoffRequestError {
    /// The `reason` label and log value.
    var reason: String {
        switch self {
        case .unknownClient: "unknown_client"
        case .unregisteredRedirectURI: "unregistered_redirect_uri"
        case .invalidState: "invalid_state"
        case .duplicateParameter: "duplicate_parameter"
        }
    }
}

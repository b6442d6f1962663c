import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension RelyingPartyHost {
    /// `GET /sso/start?return_to=PATH`: a new random state in a cookie, its hash and
    /// `return_to` in the store, and a 303 to the login host's `/handoff`.
    func start(_ request: Request) async throws -> Response {
        let returnTo = Redirects.localPathOrRoot(FormFields(query: request).all("return_to").first)
        let state = Secrets.random(bytes: 32)
        let now = clock.now()
        do {
            try await store.insertPendingSignIn(
                PendingSignIn(
                    stateHash: Secrets.hash(state), clientID: configuration.clientID, returnTo: returnTo, startedAt: now,
                    expiresAt: now.addingTimeInterval(300)))
        } catch {
            return storeFailure(error)
        }
        let location =
            configuration.issuer + "/handoff?client_id=" + encode(configuration.clientID) + "&redirect_uri="
            + encode(configuration.redirectURI) + "&state=" + state
        var response = Response.redirect(location)
        response.setCookie(BatonCookie.state.set(state, maxAge: 300))
        return response
    }

    /// `GET /sso/callback?token=JWT`: the six steps of redemption (see ``Redeemer``).
    func callback(_ request: Request) async -> Response {
        let result = await redeemer.redeem(
            tokenParameters: FormFields(query: request).all("token"),
            stateCookie: BatonCookie.state.value(in: request),
            sessionCookie: BatonCookie.session.value(in: request))
        var response: Response
        switch result.outcome {
        case .success(.created(let cookie, let session)):
            metrics.count("baton_redemptions", [("result", "ok")])
            logger.info(
                "handoff redeemed",
                metadata: ["jti": .string(result.jtiFingerprint ?? "-"), "sid": .string(Secrets.fingerprint(session.loginSID))])
            response = .redirect(session.returnTo)
            response.setCookie(BatonCookie.session.set(cookie))
        case .success(.reloaded(let returnTo)):
            metrics.count("baton_redemptions", [("result", "reload")])
            response = .redirect(returnTo)
        case .failure(let error):
            metrics.count("baton_redemptions", [("result", error.code)])
            if error == .tokenReplayed {
                // A security event: someone presented a token that was already used.
                logger.warning(
                    "security event: token replayed",
                    metadata: ["jti": .string(result.jtiFingerprint ?? "-"), "client_id": .string(configuration.clientID)])
            } else if error == .storeUnavailable {
                logger.error("redemption refused: store unavailable")
            } else {
                logger.notice("redemption refused", metadata: ["code": .string(error.code)])
            }
            response = refusal(error)
        }
        if result.stateConsumed {
            response.setCookie(BatonCookie.state.clear())
        }
        return response
    }

    private func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? ""
    }

    func storeFailure(_ error: any Error) -> Response {
        logger.error("store failure", metadata: ["error": .string(String(describing: error))])
        metrics.count("baton_store_failures")
        return refusal(.storeUnavailable)
    }
}

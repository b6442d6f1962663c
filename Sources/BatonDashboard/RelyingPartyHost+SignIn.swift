import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension RelyingPartyHost {
    /// `GET /sso/start?return_to=PATH`: a new state (in a cookie, and to the login
    /// host), the return path in a cookie its MAC covers, and a 303 to `/handoff`.
    /// Nothing is written: anyone may call this.
    func start(_ request: Request) -> Response {
        let returnTo = Redirects.localPathOrRoot(FormFields(query: request).all("return_to").first)
        let signIn = states.start(returnTo: returnTo, at: clock.now())
        var response = Response.redirect(handoffLocation(state: signIn.state))
        let maxAge = Int(SignInStateSealer.lifetime)
        response.setCookie(BatonCookie.state.set(signIn.state, maxAge: maxAge))
        if let returnCookie = SignInStateSealer.returnCookie(for: returnTo) {
            response.setCookie(BatonCookie.returnTo.set(returnCookie, maxAge: maxAge))
        } else if BatonCookie.returnTo.isPresent(in: request) {
            response.setCookie(BatonCookie.returnTo.clear())
        }
        return response
    }

    /// The login host's `/handoff` URL for `state`, from configuration only.
    func handoffLocation(state: String) -> String {
        handoffPrefix + state
    }

    /// `GET /sso/callback?token=JWT`: the six steps of redemption (see ``Redeemer``).
    func callback(_ request: Request) async -> Response {
        let result = await redeemer.redeem(
            CallbackRequest(
                tokens: FormFields(query: request).all("token"), stateCookie: BatonCookie.state.value(in: request),
                returnCookie: BatonCookie.returnTo.value(in: request), sessionCookie: BatonCookie.session.value(in: request)))
        var response: Response
        switch result.outcome {
        case .success(.created(let cookie, let session)):
            metrics.count("baton_redemptions", [("result", "ok")])
            // Per request: at debug, like the request log (a busy host's log holds its events).
            logger.debug(
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
            if BatonCookie.returnTo.isPresent(in: request) { response.setCookie(BatonCookie.returnTo.clear()) }
        }
        return response
    }

    func storeFailure(_ error: any Error) -> Response {
        logger.error("store failure", metadata: ["error": .string(String(describing: error))])
        metrics.count("baton_store_failures")
        return refusal(.storeUnavailable)
    }
}

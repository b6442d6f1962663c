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
        let stopwatch = Stopwatch()
        let result = await redeemer.redeem(
            CallbackRequest(
                tokens: FormFields(query: request).all("token"), stateCookie: BatonCookie.state.value(in: request),
                returnCookie: BatonCookie.returnTo.value(in: request), sessionCookie: BatonCookie.session.value(in: request)))
        stopwatch.record(in: metrics.redemptionDuration)
        var response: Response
        switch result.outcome {
        case .success(.created(let cookie, let session)):
            metrics.redeemedOK.increment()
            // Per request: at debug, like the request log (a busy host's log holds its events).
            logger.debug(
                "handoff redeemed",
                metadata: ["jti": .string(result.jtiFingerprint ?? "-"), "sid": .string(Secrets.fingerprint(session.loginSID))])
            response = .redirect(session.returnTo)
            response.setCookie(BatonCookie.session.set(cookie))
        case .success(.reloaded(let returnTo)):
            metrics.reloaded.increment()
            response = .redirect(returnTo)
        case .failure(let error):
            metrics.refused[error]?.increment()
            if error == .tokenReplayed { metrics.handoffReplays.increment() }
            // Each refusal is an event named after its code; a replay, a forged signature or
            // a state that does not match is a security event (see LogEventName.level).
            logger.event(
                LogEventName(refusal: error), level: LogEventName.level(for: error), "redemption refused",
                metadata: ["code": .string(error.code), "jti": .string(result.jtiFingerprint ?? "-")])
            response = refusal(error)
        }
        if result.stateConsumed {
            response.setCookie(BatonCookie.state.clear())
            if BatonCookie.returnTo.isPresent(in: request) { response.setCookie(BatonCookie.returnTo.clear()) }
        }
        return response
    }

    func storeFailure(_ error: any Error) -> Response {
        logger.event(.storeUnavailable, "store failure", metadata: ["error": .string(String(describing: error))])
        return refusal(.storeUnavailable)
    }
}

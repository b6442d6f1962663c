import BatonCore
import BatonWeb
import Foundation
import Hummingbird

extension LoginHost {
    /// `GET /handoff?client_id=&redirect_uri=&state=`: parameters first, signed in or
    /// not; a bad one is a 400 page and never a redirect. Then a 302 to the registered
    /// `redirect_uri` with a fresh token, or a 303 to the sign-in form.
    func handoff(_ request: Request) async throws -> Response {
        let asked: HandoffAsk
        switch handoffAsk(FormFields(query: request)) {
        case .success(let valid): asked = valid
        case .failure(let error): return refuse(error)
        }
        let session: LoginSession?
        do {
            session = try await service.session(cookie: BatonCookie.login.value(in: request))
        } catch {
            return storeUnavailable(error)
        }
        guard let session else {
            // Rebuilt from the checked values, not copied from the request.
            let again =
                "/handoff?client_id=\(encode(asked.client.clientID))&redirect_uri=\(encode(asked.redirectURI))&state=\(encode(asked.state))"
            return .redirect("/login?continue=" + encode(again))
        }
        do {
            // Before the token exists: its relying party must hear of this session's end.
            try await service.recordHandoff(sid: session.sid, to: asked.client.clientID)
        } catch {
            return storeUnavailable(error)
        }
        let minted: HandoffMinter.Minted
        let stopwatch = Stopwatch()
        do {
            minted = try await minter.mint(audience: asked.client.clientID, sid: session.sid, state: asked.state)
        } catch {
            logger.error("minting failed", metadata: ["error": .string(String(describing: error))])
            return pages.problem(
                .serviceUnavailable, title: "Sign-in is unavailable", explanation: "The login service could not sign a token.",
                site: "Baton login", retryURL: nil)
        }
        return handedOff(minted, asked, stopwatch)
    }

    /// `GET /handoff` answered on the connection's event loop (``InlineResponder``) when
    /// memory alone says it may mint: valid parameters, a login session live in the
    /// cache and not due for its touch (``LoginService/sessionInHand(cookie:)``), its
    /// handoff to this client already recorded, and signing keys in hand. The same 302,
    /// headers and metrics as ``handoff(_:)``; any other case, and every request while
    /// requests are logged (debug), is left to ``handoff(_:)``, which may wait on the store.
    public var inlineHandoff: (path: String, answer: InlineResponder.Answer) {
        ("/handoff", { head in inlineHandoff(head) })
    }

    func inlineHandoff(_ head: HTTPRequest) -> HTTPResponse? {
        guard head.method == .get, logger.logLevel > .debug, let target = head.path, !target.contains("#"),
            case .success(let asked) = handoffAsk(FormFields(queryOf: target)),
            let session = service.sessionInHand(cookie: BatonCookie.login.value(in: head.headerFields)),
            service.handoffRecorded(sid: session.sid, to: asked.client.clientID)
        else { return nil }
        let stopwatch = Stopwatch()
        guard let minted = try? minter.mintInHand(audience: asked.client.clientID, sid: session.sid, state: asked.state) else {
            return nil
        }
        var response = handedOff(minted, asked, stopwatch)
        securityHeaders.apply(to: &response.headers)
        return HTTPResponse(status: response.status, headerFields: response.headers)
    }

    /// A `/handoff` request whose parameters passed.
    struct HandoffAsk {
        let client: ClientRegistry.Client
        let redirectURI: String
        let state: String
    }

    /// The parameters' verdict: each at most once, then the client registry's checks.
    func handoffAsk(_ query: FormFields) -> Result<HandoffAsk, ClientRegistry.HandoffRequestError> {
        for name in ["client_id", "redirect_uri", "state"] where query.all(name).count > 1 {
            return .failure(.duplicateParameter)
        }
        do {
            let client = try handoffRequests.validateHandoff(
                clientID: query.single("client_id"), redirectURI: query.single("redirect_uri"), state: query.single("state"))
            return .success(HandoffAsk(client: client, redirectURI: query.single("redirect_uri") ?? "", state: query.single("state") ?? ""))
        } catch {
            return .failure(error)
        }
    }

    /// The 302 that carries `minted` to the relying party, counted and timed since `stopwatch`.
    private func handedOff(_ minted: HandoffMinter.Minted, _ asked: HandoffAsk, _ stopwatch: Stopwatch) -> Response {
        stopwatch.record(in: metrics.mintDuration)
        // Per request: at debug, like the request log.
        logger.debug(
            "handoff minted",
            metadata: ["client_id": .string(asked.client.clientID), "jti": .string(Secrets.fingerprint(minted.jti))])
        metrics.mints[asked.client.clientID]?.increment()
        return .redirect(Redirects.appending("token", minted.token, to: asked.redirectURI), status: .found)
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

import BatonCore
import BatonWeb
import Foundation
import Hummingbird
import Logging

/// A relying party ("dashboard host"): turns a handoff token into its own session,
/// never sees a password, and answers a reverse proxy's forward-auth checks for an app
/// on its origin (PROTOCOL.md "Dashboard host endpoints", "Forward auth"). Each route
/// lives in its own `RelyingPartyHost+Route.swift` file.
public struct RelyingPartyHost: Sendable {
    public let configuration: RelyingPartyConfiguration
    /// Also answers `/readyz`.
    let store: any RelyingPartyStore & StoreProbe
    let redeemer: any HandoffRedeeming
    /// Decides whether a request's session is live and may pass: every page and
    /// `/sso/auth` ask it.
    public let gate: SessionGate
    /// Starts and checks sign-ins, with nothing stored until the callback.
    let states: SignInStateSealer
    /// `issuer/handoff?client_id=…&redirect_uri=…&state=`, built once from configuration.
    let handoffPrefix: String
    let logoutVerifier: LogoutTokenVerifier
    let pages: Pages
    /// On every response, the router's and those answered inline.
    let securityHeaders: SecurityHeadersMiddleware<BatonRequestContext>
    let metrics: RelyingPartyMetrics
    let metricsEndpoint: MetricsEndpoint
    let clock: any BatonClock
    let logger: Logger

    /// A relying party trusting `keys` and asking `directory` about sessions, recording
    /// into `metrics` (a new registry when nil; pass one to count what is built beside
    /// the host, such as its JWKS fetches). Only tests pass `redeemer`, to stand a
    /// weakened one in for Baton's ``Redeemer``, and `sessionCacheLifetime` (how long a
    /// session read from the store answers from the gate's memory).
    public init(
        configuration: RelyingPartyConfiguration, store: any RelyingPartyStore & StoreProbe, keys: TrustedKeySet,
        directory: any LoginSessionDirectory, pages: Pages, clock: any BatonClock = SystemClock(),
        logger: Logger? = nil, redeemer: (any HandoffRedeeming)? = nil, metrics: HostMetrics? = nil,
        sessionCacheLifetime: Duration = .seconds(1)
    ) {
        self.configuration = configuration
        let hostMetrics = metrics ?? HostMetrics()
        let metrics = RelyingPartyMetrics(hostMetrics)
        self.metrics = metrics
        self.metricsEndpoint = MetricsEndpoint(metrics: hostMetrics, token: configuration.metricsToken)
        // Every store operation and back-channel lookup, the redeemer's and the gate's, counted.
        let store = metrics.store.instrument(store)
        let directory = CountedDirectory(base: directory, counters: metrics.lookups)
        self.store = store
        let verifier = HandoffVerifier(
            issuer: configuration.issuer, audience: configuration.clientID, keys: keys, clock: clock,
            leeway: configuration.leeway, maximumLifetime: configuration.maximumTokenLifetime, algorithm: configuration.algorithm)
        let states = SignInStateSealer(clientID: configuration.clientID, secret: configuration.clientSecret)
        self.states = states
        self.redeemer =
            redeemer
            ?? Redeemer(
                clientID: configuration.clientID, verifier: verifier, store: store, directory: directory, states: states,
                clock: clock, sessionLifetime: configuration.sessionLifetime, allowedGroups: configuration.allowedGroups)
        func encode(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "" }
        self.handoffPrefix =
            configuration.issuer + "/handoff?client_id=" + encode(configuration.clientID) + "&redirect_uri="
            + encode(configuration.redirectURI) + "&state="
        self.gate = SessionGate(
            clientID: configuration.clientID, store: store, directory: directory, clock: clock,
            policy: .init(
                idleTimeout: configuration.sessionIdleTimeout, revalidateInterval: configuration.revalidateInterval,
                revalidateGrace: configuration.revalidateGrace, allowedGroups: configuration.allowedGroups,
                cacheLifetime: sessionCacheLifetime))
        self.logoutVerifier = LogoutTokenVerifier(
            issuer: configuration.issuer, audience: configuration.clientID, keys: keys, clock: clock, leeway: configuration.leeway,
            algorithm: configuration.algorithm)
        var pages = pages
        // Behind a proxy every path but /sso/ may belong to the app: the pages' stylesheet too.
        pages.stylesheetPath = "/sso/baton.css"
        self.pages = pages
        self.securityHeaders = SecurityHeadersMiddleware(
            contentSecurityPolicy: SecurityHeadersMiddleware<BatonRequestContext>.policy(),
            strictTransportSecurity: configuration.strictTransportSecurity.header(forOrigin: configuration.publicOrigin),
            pages: pages, site: configuration.title)
        self.clock = clock
        self.logger = logger ?? Logger(label: "baton.rp.\(configuration.clientID)")
    }

    /// The router with every endpoint and the shared middleware.
    public func router() -> Router<BatonRequestContext> {
        let router = Router(context: BatonRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: securityHeaders)
        // Before the safe-methods rule: `/sso/auth` answers every method alike.
        router.add(middleware: ForwardAuthMiddleware { request in await forwardAuth(request) })
        router.add(middleware: ReadinessMiddleware(probe: store, logger: logger))
        router.add(middleware: SafeMethodsMiddleware())
        router.get("/") { request, _ in await home(request) }
        router.get("/sso/start") { request, _ in start(request) }
        router.get("/sso/callback") { request, _ in await callback(request) }
        router.post("/logout") { request, _ in try await signOut(request) }
        router.get("/sso/logout") { request, _ in signOutPage(request) }
        router.post("/sso/logout") { request, _ in try await signOut(request) }
        router.get("/sso/signed-out") { request, _ in signedOut(request) }
        router.get("/signed-out") { request, _ in signedOut(request) }
        router.post("/sso/backchannel-logout") { request, _ in try await backChannelLogout(request) }
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/metrics") { request, _ in try await metricsEndpoint.response(request) }
        router.get("/baton.css") { _, _ in pages.stylesheetResponse() }
        router.get("/sso/baton.css") { _, _ in pages.stylesheetResponse() }
        return router
    }

    /// Where a person goes to sign in again.
    var retryURL: String { "/sso/start?return_to=%2F" }

    func refusal(_ error: BatonError) -> Response {
        pages.error(error, site: configuration.title, retryURL: retryURL)
    }
}

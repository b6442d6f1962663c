import AsyncHTTPClient
import BatonCore
import BatonWeb
import Foundation
import Hummingbird
import Logging

/// The login host: signs people in, keeps their sessions, and hands each relying
/// party a one-time token that points at the session (PROTOCOL.md "Login host
/// endpoints"). Each route lives in its own `LoginHost+Route.swift` file.
public struct LoginHost: Sendable {
    public let configuration: LoginHostConfiguration
    let service: LoginService
    let minter: HandoffMinter
    let signingKeys: SigningKeySource
    let pages: Pages
    /// On every response, the router's and those answered inline.
    let securityHeaders: SecurityHeadersMiddleware<BatonRequestContext>
    /// Answers `/readyz`.
    let probe: any StoreProbe
    let handoffRequests: any HandoffRequestValidating
    /// Sends back-channel logout; nil when the host was built without an HTTP client
    /// (the queue then waits in the store for a host that has one).
    public let logoutDispatcher: LogoutDispatcher?
    let metrics: LoginMetrics
    let metricsEndpoint: MetricsEndpoint
    let clock: any BatonClock
    let logger: Logger

    /// A login host over `store`, signing with the active key of `keyRing`, reread from
    /// `keyFile` as soon as it changes, or from `keyStore` (`signing_keys: "database"`),
    /// so a rotation needs no restart. It records into `metrics` (a new registry when
    /// nil). Only tests pass `handoffRequests`, to stand a weakened check in for the
    /// client registry, and `sessionCacheLifetime` (how long a login session read by
    /// cookie answers from memory).
    public init(
        configuration: LoginHostConfiguration, store: any LoginHostStore & StoreProbe, keyRing: SigningKeyRing,
        keyFile: String? = nil, keyStore: (any KeyRingStore)? = nil, pages: Pages,
        hasher: PasswordHasher = PasswordHasher(), clock: any BatonClock = SystemClock(),
        logger: Logger = Logger(label: "baton.login"), handoffRequests: (any HandoffRequestValidating)? = nil,
        logoutHTTP: HTTPClient? = nil, throttle: (any SignInThrottling)? = nil, metrics: HostMetrics? = nil,
        sessionCacheLifetime: Duration = CachedLoginSessions.defaultLifetime
    ) async {
        self.configuration = configuration
        let hostMetrics = metrics ?? HostMetrics()
        let metrics = LoginMetrics(hostMetrics, clients: configuration.clients)
        self.metrics = metrics
        self.metricsEndpoint = MetricsEndpoint(metrics: hostMetrics, token: configuration.metricsToken)
        // Every store operation counted and timed, the dispatcher's and the key source's too.
        let store = metrics.store.instrument(store)
        let keyStore = keyStore.map { metrics.store.instrument($0) }
        metrics.watchBacklog(of: store, clock: clock)
        self.service = LoginService(
            store: store, hasher: hasher, clock: clock, timeouts: configuration.sessionTimeouts,
            throttle: CountedThrottle(
                base: throttle ?? LoginThrottle(limits: configuration.throttle, clock: clock), refused: metrics.throttleRefused,
                delayed: metrics.throttleDelayed), cacheLifetime: sessionCacheLifetime)
        let keysFrom = keyStore == nil ? "file" : "database"
        let onEvent: @Sendable (SigningKeySource.Event) -> Void = { [logger] event in
            switch event {
            case .reloaded(let kids):
                logger.info("signing keys reloaded", metadata: ["kids": .string(kids.joined(separator: ",")), "from": "\(keysFrom)"])
            case .reloadFailed(let error):
                logger.error("signing keys unreadable; keeping the keys in use", metadata: ["error": .string(error), "from": "\(keysFrom)"])
            }
        }
        self.signingKeys =
            keyStore.map { SigningKeySource(ring: keyRing, store: $0, clock: clock, onEvent: onEvent) }
            ?? SigningKeySource(ring: keyRing, file: keyFile, clock: clock, onEvent: onEvent)
        self.minter = HandoffMinter(
            issuer: configuration.publicOrigin, keys: signingKeys, lifetime: configuration.tokenLifetime, clock: clock)
        self.pages = pages
        self.securityHeaders = SecurityHeadersMiddleware(
            contentSecurityPolicy: SecurityHeadersMiddleware<BatonRequestContext>.policy(formTargets: configuration.clientOrigins),
            strictTransportSecurity: configuration.strictTransportSecurity.header(forOrigin: configuration.publicOrigin),
            pages: pages, site: "Baton login")
        self.probe = store
        self.clock = clock
        self.logger = logger
        self.handoffRequests = handoffRequests ?? configuration.clients
        let minter = self.minter
        self.logoutDispatcher = logoutHTTP.map { http in
            LogoutDispatcher(
                store: store, clients: configuration.clients,
                mint: { audience, sid in try await minter.mintLogout(audience: audience, sid: sid).token }, http: http,
                clock: clock, logger: logger, metrics: hostMetrics)
        }
    }

    /// The router with every endpoint and the middleware both hosts share.
    public func router() -> Router<BatonRequestContext> {
        let router = Router(context: BatonRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(middleware: securityHeaders)
        router.add(middleware: ReadinessMiddleware(probe: probe, logger: logger))
        router.add(middleware: SafeMethodsMiddleware())
        router.get("/") { request, _ in try await home(request) }
        router.get("/login") { request, _ in try await loginForm(request) }
        router.post("/login") { request, context in try await signIn(request, context: context) }
        router.post("/logout") { request, _ in try await signOut(request) }
        router.post("/sessions/end") { request, _ in try await endSessions(request, all: false) }
        router.post("/sessions/end-all") { request, _ in try await endSessions(request, all: true) }
        router.get("/handoff") { request, _ in try await handoff(request) }
        router.get("/.well-known/jwks.json") { _, _ in await jwks() }
        router.get("/api/sessions/:sid") { request, context in
            try await sessionInfo(request, sid: context.parameters.get("sid") ?? "")
        }
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/metrics") { request, _ in try await metricsEndpoint.response(request) }
        router.get("/baton.css") { _, _ in pages.stylesheetResponse() }
        return router
    }

    /// The 503 page for a store failure: never a success, never a stack trace.
    func storeUnavailable(_ error: any Error) -> Response {
        logger.event(.storeUnavailable, "store failure", metadata: ["error": .string(String(describing: error))])
        return pages.error(.storeUnavailable, site: "Baton login", retryURL: "/")
    }
}

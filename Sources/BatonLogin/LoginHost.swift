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
    let keyRing: SigningKeyRing
    let pages: Pages
    let throttle: LoginThrottle
    let handoffRequests: any HandoffRequestValidating
    let metrics = HostMetrics()
    let clock: any BatonClock
    let logger: Logger

    /// A login host over `store`, signing with the active key of `keyRing`. Only tests
    /// pass `handoffRequests`, to stand a weakened check in for the client registry.
    public init(
        configuration: LoginHostConfiguration, store: any LoginHostStore, keyRing: SigningKeyRing, pages: Pages,
        hasher: PasswordHasher = PasswordHasher(), clock: any BatonClock = SystemClock(),
        logger: Logger = Logger(label: "baton.login"), handoffRequests: (any HandoffRequestValidating)? = nil
    ) async {
        self.configuration = configuration
        self.service = LoginService(store: store, hasher: hasher, clock: clock, timeouts: configuration.sessionTimeouts)
        self.minter = await HandoffMinter(
            issuer: configuration.publicOrigin, key: keyRing.active, lifetime: configuration.tokenLifetime, clock: clock)
        self.keyRing = keyRing
        self.pages = pages
        self.throttle = LoginThrottle(limit: configuration.throttleLimit, window: configuration.throttleWindow, clock: clock)
        self.clock = clock
        self.logger = logger
        self.handoffRequests = handoffRequests ?? configuration.clients
    }

    /// The router with every endpoint and the middleware both hosts share.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestLogMiddleware(logger: logger))
        router.add(
            middleware: SecurityHeadersMiddleware(
                contentSecurityPolicy: SecurityHeadersMiddleware<BasicRequestContext>.policy(formTargets: configuration.clientOrigins),
                pages: pages, site: "Baton login"))
        router.add(middleware: SafeMethodsMiddleware())
        router.get("/") { request, _ in try await home(request) }
        router.get("/login") { request, _ in try await loginForm(request) }
        router.post("/login") { request, _ in try await signIn(request) }
        router.post("/logout") { request, _ in try await signOut(request) }
        router.get("/handoff") { request, _ in try await handoff(request) }
        router.get("/.well-known/jwks.json") { _, _ in jwks() }
        router.get("/api/sessions/:sid") { request, context in
            try await sessionInfo(request, sid: context.parameters.get("sid") ?? "")
        }
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/metrics") { _, _ in metrics.response() }
        router.get("/baton.css") { _, _ in pages.stylesheetResponse() }
        return router
    }

    /// The 503 page for a store failure: never a success, never a stack trace.
    func storeUnavailable(_ error: any Error) -> Response {
        logger.error("store failure", metadata: ["error": .string(String(describing: error))])
        metrics.count("baton_store_failures")
        return pages.error(.storeUnavailable, site: "Baton login", retryURL: "/")
    }
}

import BatonCore
import Hummingbird
import Logging
import Synchronization

/// `GET /readyz` and `HEAD /readyz` (PROTOCOL.md): 200 `ok` while the store answers a
/// probe within ``timeout``, else 503 with `Baton-Error: store_unavailable`, for load
/// balancers' health checks. `/healthz` stays liveness: it never asks the store.
public struct ReadinessMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Short enough that a load balancer's check (often 5 s) gets an answer.
    public static var defaultTimeout: Duration { .seconds(2) }

    let probe: any StoreProbe
    let timeout: Duration
    let logger: Logger
    private let health = ProbeHealth()

    /// Answers `/readyz` by asking `probe`.
    public init(probe: any StoreProbe, timeout: Duration = defaultTimeout, logger: Logger) {
        self.probe = probe
        self.timeout = timeout
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // HEAD like GET, as for /healthz; it mints and burns nothing either way.
        guard request.uri.path == "/readyz", request.method == .get || request.method == .head else {
            return try await next(request, context)
        }
        let probe = self.probe
        let failure: String?
        do {
            try await withDeadline(timeout) { try await probe.probe() }
            failure = nil
        } catch {
            failure = String(describing: error)
        }
        if health.changed(healthy: failure == nil) {
            if let failure {
                logger.error("not ready: the store does not answer", metadata: ["error": .string(failure)])
            } else {
                logger.info("ready: the store answers again")
            }
        }
        let body = request.method == .head ? "" : (failure == nil ? "ok\n" : "store_unavailable\n")
        var response = Response(
            status: failure == nil ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
        if failure != nil { response.headers[.batonError] = BatonError.storeUnavailable.code }
        return response
    }
}

/// Whether the last probe succeeded, so that only a change is logged, not every check.
private final class ProbeHealth: Sendable {
    private let healthy = Mutex(true)

    /// Records `healthy`; true when it differs from the last probe's.
    func changed(healthy now: Bool) -> Bool {
        healthy.withLock { last in
            defer { last = now }
            return last != now
        }
    }
}

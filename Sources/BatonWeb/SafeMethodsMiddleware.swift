import Hummingbird

/// `HEAD` and `OPTIONS` never reach a handler, so they can never mint, burn or
/// redeem anything (PROTOCOL.md). `HEAD /healthz` answers 200 for monitors (and `HEAD
/// /readyz` is answered before this, by ``ReadinessMiddleware``); every other `HEAD` is
/// 405, and `OPTIONS` is 204 with `Allow`.
public struct SafeMethodsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The middleware.
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .head:
            if request.uri.path == "/healthz" { return Response(status: .ok) }
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, POST"])
        case .options:
            return Response(status: .noContent, headers: [.allow: "GET, POST"])
        default:
            return try await next(request, context)
        }
    }
}

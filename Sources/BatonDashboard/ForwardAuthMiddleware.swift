import Hummingbird

/// Answers `/sso/auth` before routing, whatever the method: a reverse proxy asks with
/// GET, HEAD, POST, PUT, DELETE or anything else, and each gets the same answer
/// (PROTOCOL.md "Forward auth"). The body is never read.
struct ForwardAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    static var path: String { "/sso/auth" }

    let check: @Sendable (Request) async -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path == Self.path else { return try await next(request, context) }
        return await check(request)
    }
}

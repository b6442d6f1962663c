import Hummingbird
import Logging

/// One log line per request, at debug (`BATON_LOG_LEVEL=debug`): method, path
/// **without** its query string (a query may carry a token), status and time.
/// Hummingbird's own request logger prints the whole URI, so it is not used. At the
/// default level nothing is formatted per request: a busy host's log holds its events.
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    /// Logs to `logger`.
    public init(logger: Logger) { self.logger = logger }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard logger.logLevel <= .debug else { return try await next(request, context) }
        let start = ContinuousClock.now
        let path = Self.loggable(request.uri.path)
        do {
            let response = try await next(request, context)
            log(request, path, response.status.code, start)
            return response
        } catch let error as any HTTPResponseError {
            log(request, path, error.status.code, start)
            throw error
        } catch {
            log(request, path, 500, start)
            throw error
        }
    }

    /// The path with identifiers replaced by their route's placeholder: a session
    /// handle is not a secret, but it has no business in a log either.
    static func loggable(_ path: String) -> String {
        if path.hasPrefix("/api/sessions/") { return "/api/sessions/{sid}" }
        return String(path.prefix(256))
    }

    private func log(_ request: Request, _ path: String, _ status: Int, _ start: ContinuousClock.Instant) {
        let milliseconds = (ContinuousClock.now - start).components
        let ms = Double(milliseconds.seconds) * 1000 + Double(milliseconds.attoseconds) / 1e15
        logger.debug(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(path), "status": .stringConvertible(status),
                "ms": .string(String(format: "%.1f", ms)),
            ])
    }
}

import Foundation

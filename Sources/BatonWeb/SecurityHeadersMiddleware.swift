import HTTPTypes
import Hummingbird

/// Adds the headers PROTOCOL.md asks of every response of both hosts, error pages
/// and 404s included: `Cache-Control: no-store` (unless the handler chose a
/// `Cache-Control` itself, as the public JWKS does), `Referrer-Policy: no-referrer`,
/// `X-Content-Type-Options: nosniff` and a CSP with `frame-ancestors 'none'`; and
/// `Strict-Transport-Security` when the host's configuration gives one (an https
/// public origin: see ``StrictTransportSecurity``).
public struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let contentSecurityPolicy: String
    let strictTransportSecurity: String?
    let pages: Pages
    let site: String

    /// Headers with the given CSP and `Strict-Transport-Security` value (none when nil);
    /// `pages` renders 404 pages for `site`.
    public init(contentSecurityPolicy: String, strictTransportSecurity: String? = nil, pages: Pages, site: String) {
        self.contentSecurityPolicy = contentSecurityPolicy
        self.strictTransportSecurity = strictTransportSecurity
        self.pages = pages
        self.site = site
    }

    /// A CSP that allows no script at all, styles from this origin only, and forms
    /// posting to this origin plus `formTargets` (Chromium applies `form-action` to the
    /// redirects that follow a form post, so the login host lists its clients).
    public static func policy(formTargets: [String] = []) -> String {
        let forms = (["'self'"] + formTargets).joined(separator: " ")
        return "default-src 'none'; style-src 'self'; img-src 'self'; form-action \(forms); "
            + "frame-ancestors 'none'; base-uri 'none'"
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            response = pages.problem(
                error.status, title: "Not found", explanation: "There is no page at this address.", site: site, retryURL: "/")
        } catch let error as HTTPError where error.status.code < 500 {
            response = pages.problem(
                error.status, title: "Bad request", explanation: "The request could not be understood.", site: site, retryURL: "/")
        }
        apply(to: &response.headers)
        return response
    }

    /// Adds the headers to a response's `headers`: what ``handle(_:context:next:)`` does
    /// to every response, for one answered outside the router.
    public func apply(to headers: inout HTTPFields) {
        // A handler may allow caching of a public document (the JWKS); every other
        // response, error pages included, is no-store.
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
        headers[.referrerPolicy] = "no-referrer"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xFrameOptions] = "DENY"
        if let strictTransportSecurity { headers[.strictTransportSecurity] = strictTransportSecurity }
    }
}

extension HTTPField.Name {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let strictTransportSecurity = HTTPField.Name("Strict-Transport-Security")!
}

import BatonCore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// The HTML pages of both hosts, rendered from `Templates/` with swift-mustache.
/// `{{x}}` escapes HTML, so nothing a request carries can inject markup.
public struct Pages: Sendable {
    /// Every template a host may render; start-up fails when one is missing.
    public static let required = [
        "login", "login-home", "dashboard-home", "signed-out", "sign-out", "sign-in-required", "error", "head", "foot",
    ]

    let library: MustacheLibrary
    public let stylesheet: ByteBuffer
    /// Where pages link the stylesheet: `/baton.css` on the login host; `/sso/baton.css`
    /// on a relying party, whose other paths may belong to the app behind a proxy.
    public var stylesheetPath = "/baton.css"

    /// Loads the templates from `directory`, failing with a message naming it when a
    /// template is missing (swift-mustache would otherwise load nothing, silently).
    public static func load(directory: String) async throws -> Pages {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ConfigurationError(field: "templates", message: "no templates directory at \(directory)")
        }
        let library = try await MustacheLibrary(directory: directory)
        for name in required where library.getTemplate(named: name) == nil {
            throw ConfigurationError(field: "templates", message: "\(directory) has no \(name).mustache")
        }
        guard let css = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("baton.css")) else {
            throw ConfigurationError(field: "templates", message: "\(directory) has no baton.css")
        }
        return Pages(library: library, stylesheet: ByteBuffer(bytes: css))
    }

    /// Finds `Templates/` for a binary run from a checkout: the given directory, else
    /// the checkout the binary was built in (beside its `.build` folder), else
    /// `Templates` in the working directory.
    public static func locateTemplates(_ configured: String?) -> String {
        if let configured { return configured }
        let binary = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            // .build/<triple>/<configuration>/baton → the checkout's Templates/
            binary.appendingPathComponent("../../../Templates").standardized.path,
            binary.appendingPathComponent("../../Templates").standardized.path,
            FileManager.default.currentDirectoryPath + "/Templates",
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/error.mustache") } ?? candidates[2]
    }

    /// An HTML response from `template`.
    public func html(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var context = context
        context["stylesheet"] = stylesheetPath
        let body = library.render(context, withTemplate: template) ?? "<!doctype html><title>Error</title><p>Page unavailable.</p>"
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The error page for a refused redemption: its status, `Baton-Error: CODE`, and
    /// the explanation in plain words.
    public func error(_ error: BatonError, site: String, retryURL: String) -> Response {
        var response = html(
            "error",
            [
                "title": error.title, "code": error.code, "status": error.status, "explanation": error.explanation,
                "site": site, "retry_url": retryURL,
            ],
            status: HTTPResponse.Status(code: error.status))
        response.headers[.batonError] = error.code
        return response
    }

    /// A plain error page without a `Baton-Error` code: a bad request that is not a
    /// redemption, such as a `/handoff` with an unregistered `redirect_uri`.
    public func problem(_ status: HTTPResponse.Status, title: String, explanation: String, site: String, retryURL: String?) -> Response {
        var context: [String: Any] = [
            "title": title, "status": status.code, "explanation": explanation, "site": site,
        ]
        if let retryURL { context["retry_url"] = retryURL }
        return html("error", context, status: status)
    }

    /// The 403 page for a form whose CSRF token did not match its cookie.
    public func formExpired(site: String) -> Response {
        problem(
            .forbidden, title: "Not confirmed", explanation: "This form expired. Go back, reload and try again.", site: site,
            retryURL: "/")
    }

    /// `/baton.css`, the only stylesheet (CSP `style-src 'self'`).
    public func stylesheetResponse() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
            body: .init(byteBuffer: stylesheet))
    }
}

extension HTTPField.Name {
    /// `Baton-Error`: the machine-readable refusal code of PROTOCOL.md.
    public static let batonError = HTTPField.Name("Baton-Error")!
}

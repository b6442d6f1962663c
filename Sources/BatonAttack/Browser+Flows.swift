import Foundation

/// The steps of the handoff as a person's browser takes them, for tests and the
/// attack suite: sign in through the real form, and obtain a token without
/// redeeming it.
extension Browser {
    /// What one sign-in went through.
    public struct Trace: Sendable {
        /// Every response, in order.
        public var chain: [HTTPExchange]
        /// The callback URL that carried the token, if one was reached.
        public var callbackURL: String?
        public var final: HTTPExchange { chain.last! }
    }

    /// Opens `rpOrigin/`, signs in on the login host's form if asked to, and follows
    /// every redirect back; the callback URL (with its token) is recorded.
    public func signIn(rpOrigin: String, username: String, password: String, returnTo: String = "/") async throws -> Trace {
        var chain = try await follow(try await get(rpOrigin + "/sso/start?return_to=" + Browser.formEncode(returnTo)))
        if let page = chain.last, page.status == 200, let form = HTMLForm.signIn(in: page.body, pageURL: page.url) {
            let posted = try await submit(form, on: page, filling: [("username", username), ("password", password)])
            chain += try await follow(posted)
        }
        let callback = chain.first { PublicURL($0.url)?.path == "/sso/callback" }?.url
        return Trace(chain: chain, callbackURL: callback)
    }

    /// Submits `form` of `page` as a browser does: every field it holds, `values`
    /// typed in (replacing fields of the same name), to the URL its `action` names.
    public func submit(_ form: HTMLForm, on page: HTTPExchange, filling values: [(String, String)] = [], crossSite: Bool = false)
        async throws -> HTTPExchange
    {
        guard let target = form.target(from: page.url) else { throw BrowserError.badURL(page.url) }
        let fields = form.filled(values)
        guard form.method == "post" else {
            let query = fields.map { Browser.formEncode($0.0) + "=" + Browser.formEncode($0.1) }.joined(separator: "&")
            let base = target.prefix { $0 != "?" }
            return try await get(base + "?" + query, crossSite: crossSite)
        }
        return try await post(target, form: fields, crossSite: crossSite)
    }

    /// Starts a sign-in at `rpOrigin` and walks to the login host's 302, stopping
    /// before the callback: the token is fresh and unburned. The browser must
    /// already be signed in on the login host.
    public func obtainCallbackURL(rpOrigin: String, returnTo: String = "/") async throws -> String {
        let start = try await get(rpOrigin + "/sso/start?return_to=" + Browser.formEncode(returnTo))
        guard start.status == 303, let handoff = start.resolvedLocation else {
            throw BrowserError.unexpected("/sso/start answered \(start.status)")
        }
        let minted = try await get(handoff, crossSite: true)
        guard minted.status == 302, let callback = minted.location, callback.contains("token=") else {
            throw BrowserError.unexpected("/handoff answered \(minted.status), not a 302 with a token")
        }
        return callback
    }

    /// The token in a callback URL.
    public static func token(in callbackURL: String) -> String? {
        guard let query = PublicURL(callbackURL)?.query else { return nil }
        for pair in query.split(separator: "&") where pair.hasPrefix("token=") {
            return String(pair.dropFirst(6)).removingPercentEncoding
        }
        return nil
    }
}

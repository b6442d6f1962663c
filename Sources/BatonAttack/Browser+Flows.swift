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
        if let form = chain.last, form.status == 200, PublicURL(form.url)?.path == "/login" {
            var fields = HTMLForm.inputs(in: form.body).filter { $0.name != "username" && $0.name != "password" }
            fields.append(("username", username))
            fields.append(("password", password))
            guard let origin = PublicURL(form.url)?.origin else { throw BrowserError.badURL(form.url) }
            let posted = try await post(origin + "/login", form: fields.map { ($0.name, $0.value) })
            chain += try await follow(posted)
        }
        let callback = chain.first { PublicURL($0.url)?.path == "/sso/callback" }?.url
        return Trace(chain: chain, callbackURL: callback)
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

import Foundation

/// A browser's cookie jar, reduced to what Baton relies on: one jar per host name
/// (ports do not separate cookies), the `__Host-` prefix rules, `Secure` accepted on
/// https and on `localhost` names as Chromium does, `Max-Age`, and `SameSite`.
public actor CookieJar {
    public struct StoredCookie: Sendable, Equatable {
        public var name: String
        public var value: String
        public var host: String
        public var sameSite: String
        public var expires: Date?
        public var attributes: [String]
    }

    private var cookies: [String: [String: StoredCookie]] = [:]

    /// An empty jar.
    public init() {}

    /// Stores the cookies of `Set-Cookie` headers received from `url`.
    public func receive(_ setCookies: [String], from url: PublicURL, now: Date = Date()) {
        for line in setCookies {
            guard let cookie = parse(line, host: url.host, secureContext: isSecureContext(url), now: now) else { continue }
            if let expires = cookie.expires, expires <= now {
                cookies[url.host]?[cookie.name] = nil
            } else {
                cookies[url.host, default: [:]][cookie.name] = cookie
            }
        }
    }

    /// The `Cookie` header for a request to `url`. A cross-site request carries
    /// `SameSite=Lax` cookies only on a top-level GET, and `Strict` ones never.
    public func header(for url: PublicURL, method: String, crossSite: Bool, now: Date = Date()) -> String? {
        let live = (cookies[url.host] ?? [:]).values.filter { cookie in
            if let expires = cookie.expires, expires <= now { return false }
            guard crossSite else { return true }
            switch cookie.sameSite {
            case "strict": return false
            case "none": return true
            default: return method == "GET"
            }
        }
        guard !live.isEmpty else { return nil }
        return live.sorted { $0.name < $1.name }.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    /// The value of cookie `name` for `host`.
    public func value(_ name: String, host: String) -> String? {
        cookies[host]?[name]?.value
    }

    /// Every cookie kept for `host`.
    public func all(host: String) -> [StoredCookie] {
        Array((cookies[host] ?? [:]).values)
    }

    /// Sets a cookie directly, as an attacker with their own browser could.
    public func plant(_ name: String, _ value: String, host: String) {
        cookies[host, default: [:]][name] = StoredCookie(name: name, value: value, host: host, sameSite: "lax", expires: nil, attributes: [])
    }

    /// Forgets `name` for `host`.
    public func remove(_ name: String, host: String) {
        cookies[host]?[name] = nil
    }

    private func isSecureContext(_ url: PublicURL) -> Bool {
        url.scheme == "https" || url.host == "localhost" || url.host.hasSuffix(".localhost") || url.host == "127.0.0.1"
    }

    private func parse(_ line: String, host: String, secureContext: Bool, now: Date) -> StoredCookie? {
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return nil }
        let name = String(first[..<equals])
        let value = String(first[first.index(after: equals)...])
        var secure = false
        var path: String?
        var domain: String?
        var sameSite = "lax"
        var expires: Date?
        var attributes: [String] = []
        for attribute in parts.dropFirst() {
            let pieces = attribute.split(separator: "=", maxSplits: 1).map(String.init)
            let key = pieces[0].lowercased()
            let argument = pieces.count > 1 ? pieces[1] : ""
            attributes.append(key)
            switch key {
            case "secure": secure = true
            case "path": path = argument
            case "domain": domain = argument
            case "samesite": sameSite = argument.lowercased()
            case "max-age": expires = Int(argument).map { now.addingTimeInterval(TimeInterval($0)) }
            default: break
            }
        }
        if secure && !secureContext { return nil }
        // RFC 6265bis §4.1.3.2: __Host- cookies must be Secure, Path=/ and host-only.
        if name.hasPrefix("__Host-"), !secure || path != "/" || domain != nil { return nil }
        if name.hasPrefix("__Secure-"), !secure { return nil }
        return StoredCookie(name: name, value: value, host: host, sameSite: sameSite, expires: expires, attributes: attributes)
    }
}

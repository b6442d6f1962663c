import Foundation

/// One response as a black-box client saw it.
public struct HTTPExchange: Sendable {
    public let method: String
    /// The public URL that was asked for.
    public let url: String
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: String

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name`.
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var location: String? { header("Location") }

    /// The status and the `Baton-Error` code when there is one: `401 token_expired`, `303`.
    public var answer: String { "\(status)" + (batonError.map { " " + $0 } ?? "") }
    public var batonError: String? { header("Baton-Error") }
    public var setCookies: [String] { headers(named: "Set-Cookie") }

    /// The `Set-Cookie` line for cookie `name`, if the response set one.
    public func setCookie(_ name: String) -> String? {
        setCookies.first { $0.hasPrefix(name + "=") }
    }

    /// The absolute URL `Location` points to, resolved against ``url``.
    public var resolvedLocation: String? {
        guard let location else { return nil }
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        guard let origin = PublicURL(url)?.origin else { return nil }
        return origin + (location.hasPrefix("/") ? location : "/" + location)
    }
}

/// `scheme://authority/path?query`, split without any normalisation so that hostile
/// paths reach the server exactly as written.
public struct PublicURL: Sendable, Equatable {
    public let scheme: String
    /// `host:port` or `host`.
    public let authority: String
    /// Everything from the first `/` after the authority (at least `/`).
    public let target: String

    /// Splits `url`, or nil when it has no scheme or authority.
    public init?(_ url: String) {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        scheme = String(url[..<schemeEnd.lowerBound]).lowercased()
        let rest = url[schemeEnd.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let query = rest.firstIndex(of: "?") ?? rest.endIndex
        let end = min(slash, query)
        authority = String(rest[..<end]).lowercased()
        guard !authority.isEmpty else { return nil }
        let remainder = String(rest[end...])
        target = remainder.hasPrefix("/") ? remainder : "/" + remainder
    }

    public var origin: String { scheme + "://" + authority }

    /// The host name without the port: cookies are kept per host, not per port.
    public var host: String {
        if let colon = authority.lastIndex(of: ":") { return String(authority[..<colon]) }
        return authority
    }

    /// The path without the query.
    public var path: String { String(target.prefix { $0 != "?" }) }

    /// The query's name-value pairs, form-decoded (`+` is a space), in order.
    public var queryItems: [(name: String, value: String)] {
        guard let query else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    /// The query string after `?`, if any.
    public var query: String? {
        guard let mark = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: mark)...])
    }
}

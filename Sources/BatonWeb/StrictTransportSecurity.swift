import Foundation

/// The `Strict-Transport-Security` a host sends (RFC 6797): on every response of a host
/// whose public origin is https, decided by configuration and never by the request (a
/// proxy in front may speak plain http to the host; the browser still saw https).
public struct StrictTransportSecurity: Sendable, Equatable {
    /// A year: what browsers' preload lists ask for, and the least Baton sends.
    public static let minimumMaxAge = 31_536_000
    /// Two years, the most Baton accepts (a longer pin outlives any certificate plan).
    public static let maximumMaxAge = 63_072_000

    /// `max-age`, in seconds.
    public var maxAge: Int
    /// `includeSubDomains`: only when configured, since it pins https on every name
    /// under the host's, which Baton does not serve.
    public var includeSubdomains: Bool

    /// A year, this host only.
    public init(maxAge: Int = minimumMaxAge, includeSubdomains: Bool = false) {
        self.maxAge = maxAge
        self.includeSubdomains = includeSubdomains
    }

    /// The header's value for a host at `publicOrigin`: nil unless that origin is https
    /// (browsers ignore the header over http, and a host reached by http must not pin it).
    public func header(forOrigin publicOrigin: String) -> String? {
        guard publicOrigin.lowercased().hasPrefix("https://") else { return nil }
        return "max-age=\(maxAge)" + (includeSubdomains ? "; includeSubDomains" : "")
    }
}

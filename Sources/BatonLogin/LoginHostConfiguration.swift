import BatonCore
import BatonWeb
import Foundation

/// What a login host needs to know: its public origin (the `iss` of every token and
/// the base of every absolute URL it writes), its clients, and its timings.
public struct LoginHostConfiguration: Sendable {
    /// `http://login.localhost:8080`: never taken from a request's `Host`.
    public var publicOrigin: String
    public var clients: ClientRegistry
    /// Seconds from `iat` to `exp` of a handoff token (10 by default, at most 60).
    public var tokenLifetime: Int64
    public var sessionTimeouts: LoginService.Timeouts
    /// How many failed sign-ins get 429, counted per (username, client address), per
    /// address, and per username (a delay only): see ``LoginThrottle``.
    public var throttle: LoginThrottle.Limits
    /// Proxies whose `X-Forwarded-For` is believed when they are the TCP peer: the
    /// throttle then counts by the last hop before them (see ``ClientAddress``).
    public var trustedProxies: [IPNetwork]
    /// The algorithm of the keys this host creates (its first key, and each rotation).
    public var signingAlgorithm: SigningAlgorithm
    /// How long a rotated key is published before it signs: at least the JWKS max-age
    /// plus a relying party's 30 s unknown-kid refetch interval, so that every relying
    /// party knows the key before the first token it signs arrives.
    public var keyActivationDelay: TimeInterval
    /// The `Cache-Control: max-age` of the JWKS.
    public var jwksMaxAge: Int
    /// The bearer token `/metrics` asks for (`metrics_token`); nil: `/metrics` answers 404.
    public var metricsToken: String?
    /// `Strict-Transport-Security`, sent when ``publicOrigin`` is https (`hsts`).
    public var strictTransportSecurity = StrictTransportSecurity()

    /// The default ``jwksMaxAge``.
    public static let defaultJWKSMaxAge = 30
    /// The default ``keyActivationDelay``: the default max-age plus the 30 s refetch interval.
    public static let defaultKeyActivationDelay: TimeInterval = 60

    /// A login host configuration.
    public init(
        publicOrigin: String, clients: ClientRegistry, tokenLifetime: Int64 = 10,
        sessionTimeouts: LoginService.Timeouts = .init(), throttle: LoginThrottle.Limits = .init(), trustedProxies: [IPNetwork] = [],
        signingAlgorithm: SigningAlgorithm = .eddsa, keyActivationDelay: TimeInterval = Self.defaultKeyActivationDelay,
        jwksMaxAge: Int = Self.defaultJWKSMaxAge, metricsToken: String? = nil
    ) {
        self.publicOrigin = publicOrigin
        self.clients = clients
        self.tokenLifetime = tokenLifetime
        self.sessionTimeouts = sessionTimeouts
        self.throttle = throttle
        self.trustedProxies = trustedProxies
        self.signingAlgorithm = signingAlgorithm
        self.keyActivationDelay = keyActivationDelay
        self.jwksMaxAge = jwksMaxAge
        self.metricsToken = metricsToken
    }

    /// The origins of every registered `redirect_uri`, for the CSP's `form-action`.
    var clientOrigins: [String] {
        let origins = clients.clients.values.flatMap(\.redirectURIs).compactMap { uri -> String? in
            guard let url = URL(string: uri), let scheme = url.scheme, let host = url.host else { return nil }
            return url.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)"
        }
        return Array(Set(origins)).sorted()
    }
}

/// What a log line or a dump of a host may show: no secret hash, no `metrics_token`.
extension LoginHostConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "LoginHostConfiguration(publicOrigin: \(publicOrigin), clients: \(clients.clients.keys.sorted()); secrets hidden)"
    }
    public var debugDescription: String { description }
}

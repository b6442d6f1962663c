import BatonCore
import BatonWeb
import Foundation

/// One relying party: who it is to the login host, where it lives, and how it
/// reaches the login host.
public struct RelyingPartyConfiguration: Sendable {
    public var clientID: String
    /// The back-channel secret; sent only to ``loginBackChannelURL``.
    public var clientSecret: String
    /// Shown on its pages: "Dashboard", "Reports".
    public var title: String
    /// `http://dashboard.localhost:8081`: never taken from a request's `Host`.
    public var publicOrigin: String
    /// The exact `redirect_uri` registered with the login host.
    public var redirectURI: String
    /// The login host's public origin: the expected `iss`, and where browsers go.
    public var issuer: String
    /// Where this host calls the login host (JWKS, `/api/sessions`); the issuer by
    /// default, or an internal address such as `http://127.0.0.1:8080`.
    public var loginBackChannelURL: String
    /// The longest `exp - iat` accepted (at most 60).
    public var maximumTokenLifetime: Int64
    /// Clock skew forgiven on `iat`/`exp` (at most 2).
    public var leeway: Int64
    /// How long an RP session lives (never beyond the login session).
    public var sessionLifetime: TimeInterval
    /// The one signature algorithm accepted from the login host (pinned; EdDSA by
    /// default): a token or key of any other is refused.
    public var algorithm: SigningAlgorithm = .eddsa
    /// How long keys fetched from the login host are trusted while refreshing them
    /// fails (`jwks_max_stale_seconds`); after that every token is `token_unknown_key`.
    public var jwksMaxStale: TimeInterval = TrustedKeySet.defaultMaxStale
    /// An RP session unused this long ends (sliding).
    public var sessionIdleTimeout: TimeInterval
    /// How often, at most, a request re-checks the login session over the back
    /// channel (0: never; back-channel logout alone then ends sessions).
    public var revalidateInterval: TimeInterval
    /// How long a session may go on while the login host cannot be asked before it
    /// ends (fail closed after a grace period).
    public var revalidateGrace: TimeInterval
    /// Only people in one of these groups get a session or pass `/sso/auth`; empty: anyone
    /// the login host signs in.
    public var allowedGroups: [String]
    /// The bearer token `/metrics` asks for (`metrics_token`); nil: `/metrics` answers 404.
    public var metricsToken: String?
    /// `Strict-Transport-Security`, sent when ``publicOrigin`` is https (`hsts`).
    public var strictTransportSecurity = StrictTransportSecurity()

    /// A relying-party configuration; `redirectURI` defaults to
    /// `publicOrigin/sso/callback`.
    public init(
        clientID: String, clientSecret: String, title: String, publicOrigin: String, redirectURI: String? = nil,
        issuer: String, loginBackChannelURL: String? = nil, maximumTokenLifetime: Int64 = 60, leeway: Int64 = 2,
        sessionLifetime: TimeInterval = 8 * 3600, sessionIdleTimeout: TimeInterval = 3600, revalidateInterval: TimeInterval = 30,
        revalidateGrace: TimeInterval = 300, allowedGroups: [String] = [], metricsToken: String? = nil
    ) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.title = title
        self.publicOrigin = publicOrigin
        self.redirectURI = redirectURI ?? publicOrigin + "/sso/callback"
        self.issuer = issuer
        self.loginBackChannelURL = loginBackChannelURL ?? issuer
        self.maximumTokenLifetime = maximumTokenLifetime
        self.leeway = leeway
        self.sessionLifetime = sessionLifetime
        self.sessionIdleTimeout = sessionIdleTimeout
        self.revalidateInterval = revalidateInterval
        self.revalidateGrace = revalidateGrace
        self.allowedGroups = allowedGroups
        self.metricsToken = metricsToken
    }
}

/// What a log line or a dump of a host may show: never `client_secret` or `metrics_token`.
extension RelyingPartyConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "RelyingPartyConfiguration(clientID: \(clientID), publicOrigin: \(publicOrigin), issuer: \(issuer); secrets hidden)"
    }
    public var debugDescription: String { description }
}

import BatonCore
import BatonDashboard
import BatonLogin
import BatonWeb
import Foundation

/// Where a host listens.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    /// An address; Baton's demo binds 127.0.0.1 only.
    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`), as `--listen` takes it; nil when it is not.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return nil }
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else { return nil }
        self.init(host: String(host), port: port)
    }

    static func read(_ reader: inout ConfigReader, defaultPort: Int) throws -> ListenAddress {
        guard var listen = try reader.object("listen") else { return ListenAddress(port: defaultPort) }
        let address = ListenAddress(
            host: try listen.optionalString("host") ?? "127.0.0.1",
            port: try listen.int("port", default: defaultPort, range: 0...65535))
        try listen.finish()
        return address
    }
}

/// Where a login host keeps its signing keys: `signing_keys`.
public enum SigningKeysLocation: Sendable, Equatable {
    /// A key file (mode 0600), created on first start.
    case file(String)
    /// The word `database`: the key ring lives in the store, shared by every replica.
    case database

    static func read(_ reader: inout ConfigReader, _ key: String) throws -> SigningKeysLocation {
        let value = try reader.string(key)
        // A file named `database` is still reachable as `./database`.
        return value == "database" ? .database : .file(reader.resolve(value))
    }
}

/// A login host's configuration file (`baton serve login --config FILE`).
public struct LoginHostFile: Sendable {
    public var listen: ListenAddress
    public var host: LoginHostConfiguration
    public var database: StoreLocation
    /// `database_pool_size`: the most connections to the store this process opens.
    public var databasePoolSize = StoreFactory.defaultPoolSize
    public var signingKeys: SigningKeysLocation
    public var templates: String?
    public var bcryptCost: Int
    public var connections = ConnectionSettings()
    /// `log_format`, when the file says.
    public var logFormat: LogFormat?
    /// `tls`: serve HTTPS with this certificate and key (reloaded on SIGHUP).
    public var tls: TLSFiles?
    /// `ca_file`: what the logout deliveries trust instead of the system's store.
    public var caFile: TrustBundle?
    /// What start-up must say about this file (plain http allowed where it matters).
    public var warnings: [String] = []

    /// The key file, when the keys live in one.
    public var keyFile: String? {
        if case .file(let path) = signingKeys { return path }
        return nil
    }

    /// Reads and checks `path`; `environment` supplies `BATON_DATABASE_PASSWORD`.
    public init(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var reader = try ConfigReader(file: path, environment: environment)
        try self.init(reader: &reader)
    }

    init(reader: inout ConfigReader) throws {
        listen = try ListenAddress.read(&reader, defaultPort: 8080)
        var transport = try reader.transport()
        let origin = try reader.string("public_origin")
        try ConfigReader.checkOrigin(origin, field: reader.name("public_origin"))
        try transport.requireSecure(origin, field: reader.name("public_origin"))
        database = try reader.storeLocation("database")
        databasePoolSize = try reader.int("database_pool_size", default: StoreFactory.defaultPoolSize, range: StoreFactory.poolSizes)
        signingKeys = try SigningKeysLocation.read(&reader, "signing_keys")
        templates = try reader.optionalPath("templates")
        bcryptCost = try reader.int("bcrypt_cost", default: 11, range: 4...16)
        connections = try ConnectionSettings.read(&reader)
        tls = try TLSFiles.read(&reader)
        caFile = try TrustBundle.read(&reader)
        let hsts = try StrictTransportSecurity.read(&reader)
        let lifetime = try reader.int("token_lifetime_seconds", default: 10, range: 1...60)
        let keys = try Self.readKeySettings(&reader)
        var timeouts = LoginService.Timeouts()
        if var session = try reader.object("session") {
            timeouts.absolute = TimeInterval(try session.int("absolute_timeout_seconds", default: 43200, range: 60...2_592_000))
            timeouts.idle = TimeInterval(try session.int("idle_timeout_seconds", default: 7200, range: 60...2_592_000))
            try session.finish()
        }
        var clients: [ClientRegistry.Client] = []
        for var client in try reader.objects("clients") {
            let id = try client.string("client_id")
            let uris = try client.strings("redirect_uris")
            let logoutURI = try client.optionalString("backchannel_logout_uri")
            if let logoutURI {
                try ConfigReader.checkAbsoluteURL(logoutURI, field: client.name("backchannel_logout_uri"))
                try transport.requireSecure(logoutURI, field: client.name("backchannel_logout_uri"))
            }
            for (index, uri) in uris.enumerated() {
                try ConfigReader.checkAbsoluteURL(uri, field: client.name("redirect_uris") + "[\(index)]")
                // The token travels to it in the clear otherwise.
                try transport.requireSecure(uri, field: client.name("redirect_uris") + "[\(index)]")
            }
            let secretHash: String
            if let hash = try client.optionalString("client_secret_sha256") {
                guard Base64URL.decode(hash)?.count == 32 else {
                    throw ConfigurationError(field: client.name("client_secret_sha256"), message: "must be base64url SHA-256 (43 characters)")
                }
                secretHash = hash
            } else {
                secretHash = Secrets.hash(try ClientRegistration.readSecret(&client))
            }
            try client.finish()
            clients.append(.init(clientID: id, redirectURIs: uris, secretHash: secretHash, backChannelLogoutURI: logoutURI))
        }
        guard Set(clients.map(\.clientID)).count == clients.count else {
            throw ConfigurationError(field: reader.name("clients"), message: "lists a client_id twice")
        }
        let trustedProxies = try reader.networks("trusted_proxies")
        let metricsToken = try reader.metricsToken()
        logFormat = try reader.logFormat()
        warnings = transport.warnings
        try reader.finish()
        host = LoginHostConfiguration(
            publicOrigin: origin, clients: ClientRegistry(clients), tokenLifetime: Int64(lifetime), sessionTimeouts: timeouts,
            trustedProxies: trustedProxies, signingAlgorithm: keys.algorithm, keyActivationDelay: keys.activationDelay,
            jwksMaxAge: keys.maxAge, metricsToken: metricsToken)
        host.strictTransportSecurity = hsts
    }
}

extension LoginHostFile {
    /// `signing_algorithm`, `jwks_max_age_seconds` and `key_activation_delay_seconds`.
    /// The delay must cover the JWKS max-age (as a relying party clamps it, at least
    /// 5 s) plus the 30 s unknown-kid refetch interval: then every relying party holds
    /// a rotated key before the first token it signs arrives.
    static func readKeySettings(_ reader: inout ConfigReader) throws -> (
        algorithm: SigningAlgorithm, maxAge: Int, activationDelay: TimeInterval
    ) {
        let algorithm = try SigningAlgorithm.read(&reader, "signing_algorithm")
        let maxAge = try reader.int("jwks_max_age_seconds", default: LoginHostConfiguration.defaultJWKSMaxAge, range: 0...300)
        let minimumDelay = max(maxAge, Int(TrustedKeySet.defaultMaxAgeBounds.lowerBound)) + 30
        let delay = try reader.int(
            "key_activation_delay_seconds", default: max(Int(LoginHostConfiguration.defaultKeyActivationDelay), minimumDelay),
            range: 0...86400)
        guard delay >= minimumDelay else {
            throw ConfigurationError(
                field: reader.name("key_activation_delay_seconds"),
                message: "must be at least \(minimumDelay) (jwks_max_age_seconds + 30), so relying parties know a new key before it signs")
        }
        return (algorithm, maxAge, TimeInterval(delay))
    }
}

extension SigningAlgorithm {
    /// An optional `"EdDSA"` or `"ES256"` setting, EdDSA by default.
    static func read(_ reader: inout ConfigReader, _ key: String) throws -> SigningAlgorithm {
        guard let name = try reader.optionalString(key) else { return .eddsa }
        guard let algorithm = SigningAlgorithm(rawValue: name) else {
            throw ConfigurationError(
                field: reader.name(key), message: "must be one of \(SigningAlgorithm.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return algorithm
    }
}

/// A relying party's configuration file (`baton serve dashboard --config FILE`).
public struct RelyingPartyFile: Sendable {
    public var listen: ListenAddress
    public var host: RelyingPartyConfiguration
    public var database: StoreLocation
    /// `database_pool_size`: the most connections to the store this process opens.
    public var databasePoolSize = StoreFactory.defaultPoolSize
    public var templates: String?
    /// A JWKS file to trust instead of fetching the login host's.
    public var trustedKeys: String?
    public var connections = ConnectionSettings()
    /// `log_format`, when the file says.
    public var logFormat: LogFormat?
    /// `tls`: serve HTTPS with this certificate and key (reloaded on SIGHUP).
    public var tls: TLSFiles?
    /// `ca_file`: what the back channel to the login host trusts instead of the system's store.
    public var caFile: TrustBundle?
    /// What start-up must say about this file (plain http allowed where it matters).
    public var warnings: [String] = []

    /// Reads and checks `path`; `environment` supplies `BATON_DATABASE_PASSWORD`.
    public init(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var reader = try ConfigReader(file: path, environment: environment)
        listen = try ListenAddress.read(&reader, defaultPort: 8081)
        let clientID = try reader.string("client_id")
        let secret = try ClientRegistration.readSecret(&reader)
        var transport = try reader.transport()
        let origin = try reader.string("public_origin")
        try ConfigReader.checkOrigin(origin, field: reader.name("public_origin"))
        try transport.requireSecure(origin, field: reader.name("public_origin"))
        let issuer = try reader.string("issuer")
        try ConfigReader.checkOrigin(issuer, field: reader.name("issuer"))
        try transport.requireSecure(issuer, field: reader.name("issuer"))
        let redirectURI = try reader.optionalString("redirect_uri")
        if let redirectURI {
            try ConfigReader.checkAbsoluteURL(redirectURI, field: reader.name("redirect_uri"))
            try transport.requireSecure(redirectURI, field: reader.name("redirect_uri"))
        }
        let backChannel = try reader.optionalString("login_backchannel_url")
        if let backChannel {
            try ConfigReader.checkOrigin(backChannel, field: reader.name("login_backchannel_url"))
            // The JWKS comes from here and the client secret goes there: plain http lets
            // anyone on the path forge sign-ins.
            try transport.requireSecure(backChannel, field: reader.name("login_backchannel_url"))
        }
        warnings = transport.warnings
        database = try reader.storeLocation("database")
        databasePoolSize = try reader.int("database_pool_size", default: StoreFactory.defaultPoolSize, range: StoreFactory.poolSizes)
        templates = try reader.optionalPath("templates")
        trustedKeys = try reader.optionalPath("trusted_keys")
        connections = try ConnectionSettings.read(&reader)
        tls = try TLSFiles.read(&reader)
        caFile = try TrustBundle.read(&reader)
        let hsts = try StrictTransportSecurity.read(&reader)
        let algorithm = try SigningAlgorithm.read(&reader, "algorithm")
        host = RelyingPartyConfiguration(
            clientID: clientID, clientSecret: secret, title: try reader.optionalString("title") ?? clientID.capitalized,
            publicOrigin: origin, redirectURI: redirectURI, issuer: issuer, loginBackChannelURL: backChannel,
            maximumTokenLifetime: Int64(try reader.int("max_token_lifetime_seconds", default: 60, range: 1...60)),
            leeway: Int64(try reader.int("leeway_seconds", default: 2, range: 0...2)),
            sessionLifetime: TimeInterval(try reader.int("session_lifetime_seconds", default: 28800, range: 60...2_592_000)),
            sessionIdleTimeout: TimeInterval(try reader.int("session_idle_timeout_seconds", default: 3600, range: 60...2_592_000)),
            revalidateInterval: TimeInterval(try reader.int("revalidate_seconds", default: 30, range: 0...86400)),
            revalidateGrace: TimeInterval(try reader.int("revalidate_grace_seconds", default: 300, range: 0...86400)),
            allowedGroups: try reader.groups("allowed_groups"), metricsToken: try reader.metricsToken())
        logFormat = try reader.logFormat()
        host.algorithm = algorithm
        host.strictTransportSecurity = hsts
        // At least the longest JWKS cache time (300 s): a shorter limit would drop keys
        // the login host still lets relying parties cache.
        host.jwksMaxStale = TimeInterval(
            try reader.int(
                "jwks_max_stale_seconds", default: Int(TrustedKeySet.defaultMaxStale),
                range: Int(TrustedKeySet.defaultMaxAgeBounds.upperBound)...2_592_000))
        try reader.finish()
    }
}

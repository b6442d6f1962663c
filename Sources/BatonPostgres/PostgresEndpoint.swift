import BatonCore
import Foundation

/// Where a ``PostgresStore`` connects: a host's `database` setting when it is a PostgreSQL
/// URL (BatonCore's ``PostgresLocation``, see ``init(_:)``), or, for tests, a unix socket
/// directory and a schema of their own (PROTOCOL.md, "Storage and replicas").
///
/// ```swift
/// let location = try PostgresEndpoint(url: "postgres://baton@db.internal/baton?sslmode=verify-full")
/// let store = try await PostgresStore.open(location, poolSize: 8, logger: logger)
/// ```
public struct PostgresEndpoint: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// How the connection is protected, as libpq's `sslmode` names it.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain text.
        case disable
        /// TLS when the server offers it, unverified; plain text otherwise (libpq's default).
        case prefer
        /// TLS or nothing, with no check of the server's certificate.
        case require
        /// TLS with the server's certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    /// A host name or address; or, when it starts with `/`, the directory holding the
    /// server's unix socket (`DIR/.s.PGSQL.PORT`, as libpq finds it).
    public var host: String
    public var port: Int
    public var user: String
    /// Never printed: ``description`` leaves it out, and no error repeats it.
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// The schema Baton's tables live in (created when missing); nil for the server's
    /// default `search_path`. Tests give each case its own, so they can run in parallel.
    public var schema: String?

    /// A location from its parts; `schema` must be a plain lower-case SQL identifier.
    public init(
        host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
        sslMode: SSLMode = .prefer, schema: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.schema = schema
    }

    /// True for a value of the `database` setting that names PostgreSQL rather than a
    /// SQLite file: `postgres://…` or `postgresql://…`, never taken for a path.
    public static func isURL(_ value: String) -> Bool {
        let lowered = value.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=…]` (or
    /// `postgresql://`), user and password percent-encoded. A percent-encoded host that
    /// starts with `/` (`%2Frun%2Fpostgresql`), or a `host=/dir` parameter, names a unix
    /// socket directory. Without a password in the URL, `BATON_DATABASE_PASSWORD` in
    /// `environment` supplies it. Errors never repeat the password.
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func invalid(_ why: String) -> ConfigurationError {
            ConfigurationError(field: "database", message: "not a PostgreSQL URL (\(why)); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
        }
        guard let schemeEnd = url.range(of: "://"), Self.isURL(url) else { throw invalid("scheme") }
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let name = parts[0].removingPercentEncoding, let value = parts[1].removingPercentEncoding
                else { throw invalid("query parameter") }
                query[name] = value
            }
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("no database name") }
        guard let database = rest[rest.index(after: slash)...].removingPercentEncoding, !database.isEmpty else {
            throw invalid("no database name")
        }
        let authority = rest[..<slash]
        guard let at = authority.lastIndex(of: "@") else { throw invalid("no user") }
        let userInfo = authority[..<at]
        let hostPort = authority[authority.index(after: at)...]
        let user: String
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            guard let name = userInfo[..<colon].removingPercentEncoding,
                let secret = userInfo[userInfo.index(after: colon)...].removingPercentEncoding
            else { throw invalid("user or password encoding") }
            user = name
            password = secret
        } else {
            guard let name = userInfo.removingPercentEncoding else { throw invalid("user encoding") }
            user = name
        }
        guard !user.isEmpty else { throw invalid("no user") }
        var host = String(hostPort)
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("port")
            }
            port = number
            host = String(hostPort[..<colon])
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let decodedHost = host.removingPercentEncoding else { throw invalid("host encoding") }
        host = query["host"] ?? decodedHost
        guard !host.isEmpty else { throw invalid("no host") }
        if let number = query["port"] {
            guard let value = Int(number), (1...65535).contains(value) else { throw invalid("port") }
            port = value
        }
        var sslMode = SSLMode.prefer
        if let mode = query["sslmode"] {
            guard let known = SSLMode(rawValue: mode) else {
                throw ConfigurationError(field: "database", message: "sslmode must be disable, prefer, require or verify-full, not \(mode)")
            }
            sslMode = known
        }
        if password == nil { password = environment["BATON_DATABASE_PASSWORD"] }
        self.init(host: host, port: port, user: user, password: password, database: database, sslMode: sslMode)
    }

    /// True when ``host`` names a unix socket directory.
    public var isUnixSocket: Bool { host.hasPrefix("/") }

    /// The unix socket's path, libpq's way: `HOST/.s.PGSQL.PORT`.
    var unixSocketPath: String { (host as NSString).appendingPathComponent(".s.PGSQL.\(port)") }

    /// Where the server is, for messages: `HOST:PORT` or the socket's path.
    public var endpoint: String { isUnixSocket ? unixSocketPath : "\(host):\(port)" }

    /// The URL without its password.
    public var description: String {
        let shownHost = isUnixSocket ? host.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? host : host
        return "postgres://\(user)@\(shownHost):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// The URL without its password, in debug output too.
    public var debugDescription: String { description }

    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first), name.count <= 63 else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}

extension PostgresEndpoint {
    /// The endpoint of a host's `database` setting, as BatonCore parsed and checked it.
    public init(_ location: PostgresLocation) {
        let mode: SSLMode =
            switch location.tls {
            case .disable: .disable
            case .require: .require
            case .verifyFull: .verifyFull
            }
        self.init(
            host: location.host, port: location.port, user: location.username, password: location.password,
            database: location.database, sslMode: mode)
    }
}

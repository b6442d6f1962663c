import Foundation

/// Where a host keeps its state: the `database` setting, a SQLite file or a PostgreSQL
/// server (PROTOCOL.md "Storage and replicas"). A value with the `postgres` or
/// `postgresql` scheme is never taken for a path, and no other scheme is either.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// A SQLite file, created (mode 0600) on first start.
    case sqlite(path: String)
    /// A PostgreSQL database.
    case postgres(PostgresLocation)

    /// Reads a `database` value: `postgres://…` or `postgresql://…` is a PostgreSQL
    /// URL, any other `scheme://…` is refused, and anything else is a SQLite path, made
    /// absolute by `resolvePath` (against the configuration file's folder). When the URL
    /// has no password, `environment`'s `BATON_DATABASE_PASSWORD` supplies it. Errors
    /// name `field` and never hold the password, nor the value (which may hold it).
    public init(
        parsing value: String, field: String = "database", environment: [String: String] = ProcessInfo.processInfo.environment,
        resolvePath: (String) -> String = { $0 }
    ) throws {
        if let scheme = Self.scheme(of: value) {
            guard ["postgres", "postgresql"].contains(scheme.lowercased()) else {
                throw ConfigurationError(
                    field: field,
                    message: "\(scheme): is not a store Baton knows: give a SQLite file path or a \(PostgresLocation.form) URL")
            }
            self = .postgres(try PostgresLocation(parsing: value, field: field, environment: environment))
            return
        }
        self = .sqlite(path: resolvePath(value))
    }

    /// The URL's scheme: `postgres` and `postgresql` with or without `//` (a value with
    /// either scheme is never a path), any other followed by `://`.
    static func scheme(of value: String) -> String? {
        guard let colon = value.firstIndex(of: ":") else { return nil }
        let scheme = value[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
        else { return nil }
        if ["postgres", "postgresql"].contains(scheme.lowercased()) || value[colon...].hasPrefix("://") { return String(scheme) }
        return nil
    }

    /// The path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description
        }
    }
}

/// A PostgreSQL database: `postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=…]`.
/// Its descriptions (plain, debug and reflected) leave the password out.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `sslmode`: how the connection is protected.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP: for a server on loopback or a private network you trust.
        case disable
        /// TLS, without checking the server's certificate.
        case require
        /// TLS, with the certificate checked against the system's CAs and the host name.
        case verifyFull = "verify-full"
    }

    public static let defaultPort = 5432
    /// The environment variable that supplies the password when the URL has none.
    public static let passwordVariable = "BATON_DATABASE_PASSWORD"
    static let form = "postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=disable|require|verify-full]"

    public var username: String
    /// From the URL, or else from `BATON_DATABASE_PASSWORD`; nil when neither gives one.
    public var password: String?
    /// A host name or an IP address (an IPv6 one without its brackets).
    public var host: String
    public var port: Int
    public var database: String
    /// `sslmode`, `verify-full` when the URL does not say.
    public var tls: TLSMode

    /// A location made in code.
    public init(
        username: String, password: String? = nil, host: String, port: Int = defaultPort, database: String,
        tls: TLSMode = .verifyFull
    ) {
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    /// Parses a `postgres://` or `postgresql://` URL; user, password and database name
    /// are percent-decoded. Errors name `field` and never quote the value.
    public init(parsing value: String, field: String = "database", environment: [String: String] = [:]) throws {
        func refuse(_ problem: String) -> ConfigurationError {
            ConfigurationError(field: field, message: "\(problem): a PostgreSQL URL is \(Self.form)")
        }
        guard value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw refuse("holds spaces, control or non-ASCII characters (percent-encode them)")
        }
        guard let colon = value.firstIndex(of: ":"), ["postgres", "postgresql"].contains(value[..<colon].lowercased()) else {
            throw refuse("does not start with postgres:// or postgresql://")
        }
        var rest = value[value.index(after: colon)...]
        guard rest.hasPrefix("//") else { throw refuse("has no // after the scheme") }
        rest = rest.dropFirst(2)
        guard !rest.contains("#") else { throw refuse("has a fragment (#)") }
        let query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        } else {
            query = nil
        }
        guard let slash = rest.firstIndex(of: "/") else { throw refuse("names no database (/DBNAME)") }
        let authority = rest[..<slash]
        let path = rest[rest.index(after: slash)...]
        // The last @: a password with an unencoded @ still parses, since a host has none.
        guard let at = authority.lastIndex(of: "@") else { throw refuse("names no user (USER@HOST)") }
        let userInfo = authority[..<at]
        let hostAndPort = authority[authority.index(after: at)...]

        let rawUser = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let user = Self.decode(rawUser[0]), !user.isEmpty else { throw refuse("names no user, or a badly percent-encoded one") }
        var password: String?
        if rawUser.count == 2 {
            guard let decoded = Self.decode(rawUser[1]) else { throw refuse("has a badly percent-encoded password") }
            password = decoded.isEmpty ? nil : decoded
        }
        if password == nil, let supplied = environment[Self.passwordVariable], !supplied.isEmpty { password = supplied }

        var host: Substring
        var portText: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { throw refuse("has an unclosed [ in its host") }
            host = hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close]
            let after = hostAndPort[hostAndPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("has something after its IPv6 host") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), host.contains(":") else {
                throw refuse("has a bracketed host that is not an IPv6 address")
            }
        } else {
            let parts = hostAndPort.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw refuse("has more than one : in its host (bracket an IPv6 address)") }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
            guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else {
                throw refuse("names no host, or a host with characters a host name cannot hold")
            }
        }
        var port = Self.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isNumber), let number = Int(portText),
                (1...65535).contains(number)
            else { throw refuse("has a port that is not a number from 1 to 65535") }
            port = number
        }
        guard let database = Self.decode(path), !database.isEmpty, !database.contains("/") else {
            throw refuse("names no database, or one with a /")
        }
        var tls = TLSMode.verifyFull
        if let query, !query.isEmpty {
            var seen = false
            for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, parts[0] == "sslmode", !seen else {
                    throw refuse("takes one query parameter, sslmode, once")
                }
                guard let mode = TLSMode(rawValue: String(parts[1])) else {
                    throw refuse("has an sslmode that is not disable, require or verify-full")
                }
                seen = true
                tls = mode
            }
        }
        self.init(username: user, password: password, host: String(host), port: port, database: database, tls: tls)
    }

    /// Percent-decoding that refuses a bad escape and a decoded NUL.
    private static func decode(_ text: Substring) -> String? {
        guard let decoded = String(text).removingPercentEncoding, !decoded.contains("\0") else { return nil }
        return decoded
    }

    /// The URL without its password: fit for logs and errors.
    public var description: String {
        let allowed = CharacterSet.urlUserAllowed.subtracting(CharacterSet(charactersIn: ":@/?#"))
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(encode(username))@\(shownHost):\(port)/\(encode(database))?sslmode=\(tls.rawValue)"
    }

    public var debugDescription: String { description }

    /// What `dump` and the debugger show: everything but the password.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "username": username, "password": password == nil ? "none" : "(set)", "host": host, "port": port,
                "database": database, "tls": tls,
            ])
    }
}

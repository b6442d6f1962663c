import BatonCore
import BatonWeb
import Foundation

/// Reads a JSON configuration file and names the field in every complaint: a typo or
/// a missing value stops start-up with a message a person can act on.
struct ConfigReader {
    let values: [String: JSONValue]
    let prefix: String
    /// Relative paths are resolved against the configuration file's folder.
    let baseDirectory: String
    /// Where `BATON_DATABASE_PASSWORD` comes from.
    let environment: [String: String]
    private var used: Set<String> = []

    init(file path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(field: "--config", message: "cannot read \(path)")
        }
        // Strict JSON: a key written twice is an error, not a silent override.
        guard let members = try? StrictJSON.parseObject(Array(data), maxDepth: 6) else {
            throw ConfigurationError(field: "--config", message: "\(path) is not a JSON object (or repeats a key)")
        }
        self.init(
            values: Dictionary(uniqueKeysWithValues: members), prefix: "", baseDirectory: (path as NSString).deletingLastPathComponent,
            environment: environment)
    }

    init(values: [String: JSONValue], prefix: String, baseDirectory: String, environment: [String: String] = [:]) {
        self.values = values
        self.prefix = prefix
        self.baseDirectory = baseDirectory
        self.environment = environment
    }

    func name(_ key: String) -> String { prefix + key }

    mutating func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else {
            throw ConfigurationError(field: name(key), message: "is required")
        }
        return value
    }

    mutating func optionalString(_ key: String) throws -> String? {
        used.insert(key)
        guard let raw = values[key] else { return nil }
        guard let value = raw.stringValue, !value.isEmpty else {
            throw ConfigurationError(field: name(key), message: "must be a non-empty string")
        }
        return value
    }

    mutating func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        used.insert(key)
        guard let raw = values[key] else { return fallback }
        guard let number = raw.integerValue, let value = Int(exactly: number), range.contains(value) else {
            throw ConfigurationError(field: name(key), message: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    mutating func path(_ key: String) throws -> String {
        resolve(try string(key))
    }

    mutating func optionalPath(_ key: String) throws -> String? {
        try optionalString(key).map(resolve)
    }

    /// A SQLite path (resolved like every path) or a PostgreSQL URL, never mistaking
    /// one for the other; errors never quote the value, which may hold a password.
    mutating func storeLocation(_ key: String) throws -> StoreLocation {
        let field = name(key)
        return try StoreLocation(parsing: try string(key), field: field, environment: environment, resolvePath: resolve)
    }

    /// `path` against the configuration file's folder, made absolute first: a relative
    /// URL standardized would lose its leading `..` (`Demo/../x` is not `/x`).
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let base = baseDirectory.hasPrefix("/") ? baseDirectory : FileManager.default.currentDirectoryPath + "/" + baseDirectory
        return URL(fileURLWithPath: base, isDirectory: true).appendingPathComponent(path).standardized.path
    }

    mutating func object(_ key: String) throws -> ConfigReader? {
        used.insert(key)
        guard let raw = values[key] else { return nil }
        guard case .object(let members) = raw else {
            throw ConfigurationError(field: name(key), message: "must be an object")
        }
        return ConfigReader(
            values: Dictionary(uniqueKeysWithValues: members), prefix: name(key) + ".", baseDirectory: baseDirectory,
            environment: environment)
    }

    mutating func objects(_ key: String) throws -> [ConfigReader] {
        used.insert(key)
        guard let raw = values[key] else { throw ConfigurationError(field: name(key), message: "is required") }
        guard case .array(let array) = raw else { throw ConfigurationError(field: name(key), message: "must be a list") }
        return try array.enumerated().map { index, item in
            guard case .object(let members) = item else {
                throw ConfigurationError(field: "\(name(key))[\(index)]", message: "must be an object")
            }
            return ConfigReader(
                values: Dictionary(uniqueKeysWithValues: members), prefix: "\(name(key))[\(index)].", baseDirectory: baseDirectory,
                environment: environment)
        }
    }

    mutating func strings(_ key: String) throws -> [String] {
        used.insert(key)
        guard let raw = values[key] else { throw ConfigurationError(field: name(key), message: "is required") }
        guard case .array(let items) = raw, case let array = items.compactMap(\.stringValue), array.count == items.count,
            !array.isEmpty, array.allSatisfy({ !$0.isEmpty })
        else {
            throw ConfigurationError(field: name(key), message: "must be a non-empty list of strings")
        }
        return array
    }

    /// An optional `true` or `false`.
    mutating func bool(_ key: String, default fallback: Bool) throws -> Bool {
        used.insert(key)
        guard let raw = values[key] else { return fallback }
        guard case .bool(let value) = raw else {
            throw ConfigurationError(field: name(key), message: "must be true or false")
        }
        return value
    }

    /// Whether plain http is allowed where it matters (`allow_insecure_http`), and the
    /// warnings it gave: read once per file, before the URLs it governs.
    struct Transport {
        let allowInsecure: Bool
        var warnings: [String] = []

        /// `url` must be https, unless its host is loopback or a `.localhost` name (which
        /// never leave the machine), or plain http is allowed (then with a warning).
        mutating func requireSecure(_ url: String, field: String) throws {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme != "https" else { return }
            let host = (parsed.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let local = host == "localhost" || host.hasSuffix(".localhost") || host == "::1"
                || (IPAddress(host).map { $0.bytes.count == 4 ? $0.bytes[0] == 127 : $0.bytes == Array(repeating: 0, count: 15) + [1] } ?? false)
            if local { return }
            guard allowInsecure else {
                throw ConfigurationError(
                    field: field,
                    message: "must be https (plain http is allowed only to loopback and .localhost hosts; set \"allow_insecure_http\": true to allow it anyway, not recommended)")
            }
            warnings.append("\(field) uses plain http (\(url)): allow_insecure_http is set, so what travels there can be read and changed on the way")
        }
    }

    mutating func transport() throws -> Transport {
        Transport(allowInsecure: try bool("allow_insecure_http", default: false))
    }

    /// An optional non-empty list of strings; empty when absent.
    mutating func optionalStrings(_ key: String) throws -> [String] {
        guard values[key] != nil else {
            used.insert(key)
            return []
        }
        return try strings(key)
    }

    /// An optional non-empty list of valid group names.
    mutating func groups(_ key: String) throws -> [String] {
        let names = try optionalStrings(key)
        if let bad = names.first(where: { !GroupName.isValid($0) }) {
            throw ConfigurationError(field: name(key), message: "\"\(bad)\" is not a group name (1 to 64 characters of A-Za-z0-9._-)")
        }
        return names
    }

    /// An optional list of IP addresses and CIDR blocks (`10.0.0.0/8`, `::1`).
    mutating func networks(_ key: String) throws -> [IPNetwork] {
        try optionalStrings(key).map { text in
            guard let network = IPNetwork(text) else {
                throw ConfigurationError(field: name(key), message: "\"\(text)\" is not an IP address or CIDR block like 10.0.0.0/8")
            }
            return network
        }
    }

    /// `metrics_token`: the bearer token `/metrics` asks for, or nil (then `/metrics` is a 404).
    mutating func metricsToken() throws -> String? {
        guard let token = try optionalString("metrics_token") else { return nil }
        guard MetricsEndpoint.isAcceptable(token) else {
            throw ConfigurationError(
                field: name("metrics_token"),
                message: "must be at least \(MetricsEndpoint.minimumTokenLength) characters of printable ASCII without spaces")
        }
        return token
    }

    /// `log_format`: `"text"` or `"json"`; nil when the file does not say.
    mutating func logFormat() throws -> LogFormat? {
        guard let value = try optionalString("log_format") else { return nil }
        guard let format = LogFormat(rawValue: value) else {
            throw ConfigurationError(field: name("log_format"), message: "must be \"text\" or \"json\"")
        }
        return format
    }

    /// Refuses fields nobody asked for: a misspelt `redirect_uri` must not pass quietly.
    func finish() throws {
        if let unknown = values.keys.sorted().first(where: { !used.contains($0) && !$0.hasPrefix("_") }) {
            throw ConfigurationError(field: name(Self.shown(unknown)), message: "is not a known setting")
        }
    }

    /// A key as a message can show it: a name as it is, anything else (empty, spaces,
    /// control characters) quoted and escaped, so that the message always names it.
    static func shown(_ key: String) -> String {
        let plain = !key.isEmpty && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || "_-.".unicodeScalars.contains($0)) }
        return plain ? key : key.debugDescription
    }

    /// `scheme://host[:port]` with nothing after it.
    static func checkOrigin(_ value: String, field: String) throws {
        guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
            url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil, !value.hasSuffix("/")
        else {
            throw ConfigurationError(field: field, message: "must be an origin like https://login.example.com (no path, no trailing slash)")
        }
    }

    /// An absolute http(s) URL without a fragment or userinfo.
    static func checkAbsoluteURL(_ value: String, field: String) throws {
        guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
            url.fragment == nil, url.user == nil
        else {
            throw ConfigurationError(field: field, message: "must be an absolute http(s) URL without fragment or userinfo")
        }
    }
}

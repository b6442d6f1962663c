import BatonCore
import BatonDashboard
import BatonLogin
import BatonServer
import Foundation
import FuzzSupport

/// One file, in a folder of this process's own (in memory where /dev/shm exists),
/// rewritten for every input.
let folder: String = {
    let parent = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = parent + "/baton-fuzz-config-\(ProcessInfo.processInfo.processIdentifier)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: folder) }
    return path
}()
let file = folder + "/config.json"

let loginKeys: Set<String> = [
    "listen", "public_origin", "database", "signing_keys", "templates", "bcrypt_cost", "request_timeout_seconds", "max_connections",
    "token_lifetime_seconds", "signing_algorithm", "jwks_max_age_seconds", "key_activation_delay_seconds", "session", "clients",
    "trusted_proxies", "database_pool_size", "shutdown_timeout_seconds", "allow_insecure_http", "tls", "ca_file", "hsts",
    "metrics_token", "log_format",
]
let relyingPartyKeys: Set<String> = [
    "listen", "client_id", "client_secret", "public_origin", "issuer", "redirect_uri", "login_backchannel_url", "database", "templates",
    "trusted_keys", "request_timeout_seconds", "max_connections", "algorithm", "title", "max_token_lifetime_seconds", "leeway_seconds",
    "session_lifetime_seconds", "session_idle_timeout_seconds", "revalidate_seconds", "revalidate_grace_seconds", "allowed_groups",
    "jwks_max_stale_seconds", "database_pool_size", "shutdown_timeout_seconds", "allow_insecure_http", "tls", "ca_file", "hsts",
    "metrics_token", "log_format",
]

func checkConfiguration(_ bytes: [UInt8]) {
    // Plainly, without FileManager's atomic write and its fsync: a hundred times faster.
    let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0, bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
        Fuzz.fail("cannot write \(file)")
    }
    close(descriptor)
    let members = try? StrictJSON.parseObject(bytes, maxDepth: 6)
    let topLevel = members.map { $0.map(\.0).filter { !$0.hasPrefix("_") } }

    let login = outcome { try LoginHostFile(path: file) }
    Fuzz.require(outcome { try LoginHostFile(path: file) }.summary == login.summary, "reading the same login file twice differs")
    switch login {
    case .success(let config):
        Fuzz.require(members != nil, "a login host file StrictJSON refuses was accepted")
        Fuzz.require(topLevel?.allSatisfy(loginKeys.contains) == true, "a login host file with an unknown setting was accepted")
        check(config, members ?? [])
    case .failure(let error): checkRefusal(error)
    }

    let relyingParty = outcome { try RelyingPartyFile(path: file) }
    Fuzz.require(outcome { try RelyingPartyFile(path: file) }.summary == relyingParty.summary, "reading the same relying-party file twice differs")
    switch relyingParty {
    case .success(let config):
        Fuzz.require(members != nil, "a relying-party file StrictJSON refuses was accepted")
        Fuzz.require(topLevel?.allSatisfy(relyingPartyKeys.contains) == true, "a relying-party file with an unknown setting was accepted")
        check(config)
    case .failure(let error): checkRefusal(error)
    }
}

enum Outcome<Value> {
    case success(Value)
    case failure(any Error)

    /// Comparable across two reads: acceptance, or the error's description.
    var summary: String {
        switch self {
        case .success: "accepted"
        case .failure(let error): "refused \(error)"
        }
    }
}

func outcome<Value>(_ read: () throws -> Value) -> Outcome<Value> {
    do { return .success(try read()) } catch { return .failure(error) }
}

func checkRefusal(_ error: any Error) {
    guard let error = error as? ConfigurationError else { Fuzz.fail("a refusal that is no ConfigurationError: \(error)") }
    Fuzz.require(!error.field.isEmpty && !error.message.isEmpty, "a refusal that names no field: \(error)")
}

func check(_ file: LoginHostFile, _ members: [(String, JSONValue)]) {
    checkListen(file.listen)
    let host = file.host
    requireOrigin(host.publicOrigin, "public_origin")
    requireAbsolutePath(file.database, "database")
    requireAbsolutePath(file.signingKeys, "signing_keys")
    if let templates = file.templates { requireAbsolutePath(templates, "templates") }
    Fuzz.require((4...16).contains(file.bcryptCost), "bcrypt_cost \(file.bcryptCost)")
    Fuzz.require((1...60).contains(host.tokenLifetime), "token_lifetime_seconds \(host.tokenLifetime)")
    Fuzz.require((60...2_592_000).contains(host.sessionTimeouts.absolute), "absolute_timeout_seconds \(host.sessionTimeouts.absolute)")
    Fuzz.require((60...2_592_000).contains(host.sessionTimeouts.idle), "idle_timeout_seconds \(host.sessionTimeouts.idle)")
    Fuzz.require((0...300).contains(host.jwksMaxAge), "jwks_max_age_seconds \(host.jwksMaxAge)")
    Fuzz.require(
        host.keyActivationDelay >= TimeInterval(max(host.jwksMaxAge, 5) + 30) && host.keyActivationDelay <= 86400,
        "key_activation_delay_seconds \(host.keyActivationDelay) with jwks_max_age_seconds \(host.jwksMaxAge)")
    checkConnections(file.connections)
    // Every client listed is registered, under an id of its own.
    let listed: Int
    if case .array(let items)? = members.first(where: { $0.0 == "clients" })?.1 { listed = items.count } else { listed = -1 }
    Fuzz.require(host.clients.clients.count == listed, "\(listed) clients listed, \(host.clients.clients.count) registered")
    for (id, client) in host.clients.clients {
        Fuzz.require(!id.isEmpty && id == client.clientID, "client id \(id)")
        Fuzz.require(!client.redirectURIs.isEmpty, "client \(id) has no redirect URI")
        for uri in client.redirectURIs { requireAbsoluteURL(uri, "redirect_uris of \(id)") }
        if let logout = client.backChannelLogoutURI { requireAbsoluteURL(logout, "backchannel_logout_uri of \(id)") }
        Fuzz.require(Base64URL.decode(client.secretHash)?.count == 32, "client \(id): secret hash \(client.secretHash)")
    }
}

func check(_ file: RelyingPartyFile) {
    checkListen(file.listen)
    let host = file.host
    Fuzz.require(!host.clientID.isEmpty, "an empty client_id")
    Fuzz.require(host.clientSecret.count >= ClientRegistry.minimumSecretLength, "a client_secret of \(host.clientSecret.count) characters")
    requireOrigin(host.publicOrigin, "public_origin")
    requireOrigin(host.issuer, "issuer")
    requireAbsoluteURL(host.redirectURI, "redirect_uri")
    requireAbsoluteURL(host.loginBackChannelURL, "login_backchannel_url")
    requireAbsolutePath(file.database, "database")
    if let templates = file.templates { requireAbsolutePath(templates, "templates") }
    if let keys = file.trustedKeys { requireAbsolutePath(keys, "trusted_keys") }
    Fuzz.require((1...60).contains(host.maximumTokenLifetime), "max_token_lifetime_seconds \(host.maximumTokenLifetime)")
    Fuzz.require((0...2).contains(host.leeway), "leeway_seconds \(host.leeway)")
    Fuzz.require((60...2_592_000).contains(host.sessionLifetime), "session_lifetime_seconds \(host.sessionLifetime)")
    Fuzz.require((60...2_592_000).contains(host.sessionIdleTimeout), "session_idle_timeout_seconds \(host.sessionIdleTimeout)")
    Fuzz.require((0...86400).contains(host.revalidateInterval), "revalidate_seconds \(host.revalidateInterval)")
    Fuzz.require((0...86400).contains(host.revalidateGrace), "revalidate_grace_seconds \(host.revalidateGrace)")
    Fuzz.require((300...2_592_000).contains(host.jwksMaxStale), "jwks_max_stale_seconds \(host.jwksMaxStale)")
    Fuzz.require(host.allowedGroups.allSatisfy(GroupName.isValid), "allowed_groups \(host.allowedGroups)")
    checkConnections(file.connections)
}

func checkListen(_ listen: ListenAddress) {
    Fuzz.require((0...65535).contains(listen.port) && !listen.host.isEmpty, "listen \(listen)")
}

func checkConnections(_ connections: ConnectionSettings) {
    Fuzz.require(
        (Duration.seconds(1)...Duration.seconds(300)).contains(connections.requestTimeout)
            && (1...1_000_000).contains(connections.maxConnections), "connections \(connections)")
}

/// `http://` or `https://`, then a host, and nothing after it: no path, query,
/// fragment or userinfo, byte for byte.
func requireOrigin(_ value: String, _ field: String) {
    let bytes = Array(value.utf8)
    guard let authority = afterScheme(bytes) else { Fuzz.fail("\(field) \(value) is not http(s)") }
    Fuzz.require(
        !authority.isEmpty && !authority.contains { "/?#@\\".utf8.contains($0) || $0 <= 0x20 || $0 >= 0x7f },
        "\(field) \(Fuzz.show(bytes)) is no origin")
}

/// `http://` or `https://`, then a host, and no userinfo or fragment.
func requireAbsoluteURL(_ value: String, _ field: String) {
    let bytes = Array(value.utf8)
    guard let rest = afterScheme(bytes) else { Fuzz.fail("\(field) \(value) is not http(s)") }
    let authority = rest.prefix { !"/?#".utf8.contains($0) }
    Fuzz.require(!authority.isEmpty && !authority.contains(UInt8(ascii: "@")), "\(field) \(Fuzz.show(bytes)): no host, or userinfo")
    Fuzz.require(!bytes.contains(UInt8(ascii: "#")), "\(field) \(Fuzz.show(bytes)) has a fragment")
}

func afterScheme(_ bytes: [UInt8]) -> ArraySlice<UInt8>? {
    for scheme in ["http://", "https://"] where bytes.starts(with: Array(scheme.utf8)) {
        return bytes.dropFirst(scheme.utf8.count)
    }
    return nil
}

func requireAbsolutePath(_ path: String, _ field: String) {
    Fuzz.require(path.hasPrefix("/"), "\(field) \(path) is not absolute")
}

/// A SQLite `database` is a path resolved against the file's folder; a PostgreSQL URL is not a path.
func requireAbsolutePath(_ location: StoreLocation, _ field: String) {
    if case .sqlite(let path) = location { requireAbsolutePath(path, field) }
}

/// A key file is a path resolved against the file's folder; `"database"` is not a path.
func requireAbsolutePath(_ location: SigningKeysLocation, _ field: String) {
    if case .file(let path) = location { requireAbsolutePath(path, field) }
}

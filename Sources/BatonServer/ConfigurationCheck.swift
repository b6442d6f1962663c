import BatonCore
import BatonWeb
import Foundation

/// `baton check --config FILE`: a login host's or a relying party's file (told apart by
/// its fields), checked as start-up checks it — every setting, the templates, a key file
/// that exists — without opening the database or creating anything, and described
/// setting by setting with every secret hidden.
public enum ConfigurationCheck {
    /// What the file is and its effective settings, one `name: value` line each; throws
    /// the ``ConfigurationError`` start-up would, naming the field.
    public static func check(path: String) async throws -> String {
        guard let data = FileManager.default.contents(atPath: path),
            let members = try? StrictJSON.parseObject(Array(data), maxDepth: 6)
        else {
            // The reader says exactly what is wrong with the file.
            _ = try LoginHostFile(path: path)
            return ""
        }
        let names = Set(members.map(\.0))
        if names.contains("clients") || names.contains("signing_keys") {
            return try await describe(try LoginHostFile(path: path))
        }
        if names.contains("client_id") {
            return try await describe(try RelyingPartyFile(path: path))
        }
        throw ConfigurationError(
            field: "--config", message: "\(path) is neither a login host's file (with clients) nor a relying party's (with client_id)")
    }

    static func describe(_ file: LoginHostFile) async throws -> String {
        let templates = try await checkedTemplates(file.templates)
        let keys: String
        if let keyFile = file.keyFile {
            if FileManager.default.fileExists(atPath: keyFile) {
                // Mode and contents, as start-up reads them; a missing file is created at start.
                _ = try SigningKeyRing.load(from: keyFile)
                keys = keyFile
            } else {
                keys = keyFile + " (created at first start)"
            }
        } else {
            keys = "database (the key ring in the store, shared by every replica)"
        }
        let host = file.host
        var lines = [
            "login host",
            "listen: \(file.listen.host):\(file.listen.port)",
            "public_origin: \(host.publicOrigin)",
            "database: \(file.database) (pool of \(file.databasePoolSize))",
            "signing_keys: \(keys)",
            "templates: \(templates)",
            "token_lifetime_seconds: \(host.tokenLifetime)",
            "signing_algorithm: \(host.signingAlgorithm.rawValue)",
            "jwks_max_age_seconds: \(host.jwksMaxAge)",
            "key_activation_delay_seconds: \(Int(host.keyActivationDelay))",
            "session.absolute_timeout_seconds: \(Int(host.sessionTimeouts.absolute))",
            "session.idle_timeout_seconds: \(Int(host.sessionTimeouts.idle))",
            "bcrypt_cost: \(file.bcryptCost)",
            "trusted_proxies: \(host.trustedProxies.isEmpty ? "none" : host.trustedProxies.map { "\($0.address)/\($0.prefixLength)" }.joined(separator: ", "))",
            "request_timeout_seconds: \(file.connections.requestTimeout.components.seconds)",
            "max_connections: \(file.connections.maxConnections)",
            "metrics_token: \(host.metricsToken == nil ? "none (/metrics answers 404)" : "(hidden)")",
            "log_format: \(file.logFormat?.rawValue ?? "not set (BATON_LOG_FORMAT, else text)")",
        ] + (try transportLines(tls: file.tls, caFile: file.caFile, publicOrigin: host.publicOrigin, hsts: host.strictTransportSecurity))
        for client in host.clients.clients.values.sorted(by: { $0.clientID < $1.clientID }) {
            lines.append("client \(client.clientID): redirect_uris \(client.redirectURIs.joined(separator: " ")); secret (hidden)"
                + "; backchannel_logout_uri \(client.backChannelLogoutURI ?? "none (revalidation only)")")
        }
        return (lines + file.warnings.map { "warning: " + $0 }).joined(separator: "\n")
    }

    static func describe(_ file: RelyingPartyFile) async throws -> String {
        let templates = try await checkedTemplates(file.templates)
        if let trusted = file.trustedKeys {
            guard let data = FileManager.default.contents(atPath: trusted), let document = try? JWKSDocument(json: Array(data)),
                !document.keys.isEmpty
            else {
                throw ConfigurationError(field: "trusted_keys", message: "\(trusted) is not a JWKS with an Ed25519 or P-256 key")
            }
        }
        let host = file.host
        let lines = [
            "relying party \(host.clientID)",
            "listen: \(file.listen.host):\(file.listen.port)",
            "client_secret: (hidden)",
            "title: \(host.title)",
            "public_origin: \(host.publicOrigin)",
            "redirect_uri: \(host.redirectURI)",
            "issuer: \(host.issuer)",
            "login_backchannel_url: \(host.loginBackChannelURL)",
            "trusted_keys: \(file.trustedKeys ?? "fetched from the login host")",
            "database: \(file.database)",
            "templates: \(templates)",
            "algorithm: \(host.algorithm.rawValue)",
            "allowed_groups: \(host.allowedGroups.isEmpty ? "anyone" : host.allowedGroups.joined(separator: ", "))",
            "session_lifetime_seconds: \(Int(host.sessionLifetime))",
            "session_idle_timeout_seconds: \(Int(host.sessionIdleTimeout))",
            "revalidate_seconds: \(Int(host.revalidateInterval))",
            "revalidate_grace_seconds: \(Int(host.revalidateGrace))",
            "max_token_lifetime_seconds: \(host.maximumTokenLifetime)",
            "leeway_seconds: \(host.leeway)",
            "jwks_max_stale_seconds: \(Int(host.jwksMaxStale))",
            "request_timeout_seconds: \(file.connections.requestTimeout.components.seconds)",
            "max_connections: \(file.connections.maxConnections)",
            "metrics_token: \(host.metricsToken == nil ? "none (/metrics answers 404)" : "(hidden)")",
            "log_format: \(file.logFormat?.rawValue ?? "not set (BATON_LOG_FORMAT, else text)")",
        ] + (try transportLines(tls: file.tls, caFile: file.caFile, publicOrigin: host.publicOrigin, hsts: host.strictTransportSecurity))
        return (lines + file.warnings.map { "warning: " + $0 }).joined(separator: "\n")
    }

    /// `tls` (its pair loaded as start-up loads it), `ca_file` and what HSTS sends.
    private static func transportLines(
        tls: TLSFiles?, caFile: TrustBundle?, publicOrigin: String, hsts: StrictTransportSecurity
    ) throws -> [String] {
        var lines: [String] = []
        if let tls {
            let certificate = try ServerCertificate(files: tls)
            lines.append("tls: \(tls.certificate) (serial \(certificate.serial)), key \(tls.key) (hidden)")
        } else {
            lines.append("tls: none (plain http)")
        }
        lines.append("ca_file: " + (caFile.map { "\($0.path) (\($0.certificates.count) certificates)" } ?? "the system's trust store"))
        lines.append("strict_transport_security: \(hsts.header(forOrigin: publicOrigin) ?? "none (public_origin is not https)")")
        return lines
    }

    private static func checkedTemplates(_ configured: String?) async throws -> String {
        let directory = Pages.locateTemplates(configured)
        _ = try await Pages.load(directory: directory)
        return directory
    }
}

import BatonCore
import Foundation
import NIOSSL
import Synchronization

/// Where a host's certificate and key live: `"tls": {"certificate": PATH, "key": PATH}`
/// (PEM; relative paths against the configuration file).
public struct TLSFiles: Sendable, Equatable {
    /// The certificate chain, leaf first.
    public var certificate: String
    /// The private key: readable by its owner only, like the signing key file.
    public var key: String

    /// The files at `certificate` and `key`.
    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    static func read(_ reader: inout ConfigReader) throws -> TLSFiles? {
        guard var tls = try reader.object("tls") else { return nil }
        let files = TLSFiles(certificate: try tls.path("certificate"), key: try tls.path("key"))
        try tls.finish()
        return files
    }
}

/// A host's server certificate and key, as the TLS context every new connection's
/// handshake uses. ``reload()`` reads the files again and swaps the context in one step:
/// handshakes after it use the new pair, connections already open go on with theirs
/// (a connection keeps the context it started with), and a pair that does not load
/// leaves the old one in place.
public final class ServerCertificate: Sendable {
    /// The files read at start and at each reload.
    public let files: TLSFiles
    private let current: Mutex<(context: NIOSSLContext, serial: String)>

    /// Loads `files`; throws a ``ConfigurationError`` naming `tls.certificate` or `tls.key`.
    public init(files: TLSFiles) throws {
        self.files = files
        current = Mutex(try Self.load(files))
    }

    /// The context for a handshake starting now.
    public var context: NIOSSLContext { current.withLock { $0.context } }

    /// The leaf certificate's serial number in hex, as loaded last.
    public var serial: String { current.withLock { $0.serial } }

    /// Reads the files again; on success new handshakes use them and the new serial is
    /// returned, on failure the old pair stays and the error is thrown.
    @discardableResult
    public func reload() throws -> String {
        let loaded = try Self.load(files)
        current.withLock { $0 = loaded }
        return loaded.serial
    }

    /// A server context for `files`: TLS 1.2 or later, the chain and the key checked
    /// against each other by BoringSSL.
    static func load(_ files: TLSFiles) throws -> (context: NIOSSLContext, serial: String) {
        try PrivateFile.checkOwnerOnly(files.key, field: "tls.key")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
        } catch {
            throw ConfigurationError(field: "tls.certificate", message: "\(files.certificate) is not a readable PEM certificate chain")
        }
        guard let leaf = chain.first else {
            throw ConfigurationError(field: "tls.certificate", message: "\(files.certificate) holds no certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw ConfigurationError(field: "tls.key", message: "\(files.key) is not a readable PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            let context = try NIOSSLContext(configuration: configuration)
            return (context, leaf.serialNumber.map { String(format: "%02x", $0) }.joined())
        } catch {
            throw ConfigurationError(
                field: "tls.key", message: "\(files.key) does not belong to the certificate in \(files.certificate) (\(error))")
        }
    }
}

/// Files holding secrets (a TLS key) must be their owner's only.
enum PrivateFile {
    /// Throws unless `path` exists and neither its group nor others may read or write it.
    static func checkOwnerOnly(_ path: String, field: String) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            throw ConfigurationError(field: field, message: "cannot read \(path)")
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw ConfigurationError(field: field, message: "\(path) must not be readable by group or others (chmod 600)")
        }
    }
}

import BatonCore
import Foundation
import NIOSSL

/// The certificates a host trusts for its own outgoing https calls, from `ca_file` (a PEM
/// bundle; relative to the configuration file): the relying party's back channel to the
/// login host, the login host's logout deliveries. Instead of the system trust store,
/// never beside "no verification", which Baton has no setting for.
public struct TrustBundle: Sendable, Equatable {
    /// The bundle's file.
    public var path: String
    /// Its certificates, read at start.
    public var certificates: [NIOSSLCertificate]

    /// The bundle in `path`; throws a ``ConfigurationError`` naming `field`.
    public init(path: String, field: String = "ca_file") throws {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigurationError(field: field, message: "\(path) is not a readable PEM file of certificates")
        }
        guard !certificates.isEmpty else {
            throw ConfigurationError(field: field, message: "\(path) holds no certificate")
        }
        self.path = path
        self.certificates = certificates
    }

    static func read(_ reader: inout ConfigReader) throws -> TrustBundle? {
        try reader.optionalPath("ca_file").map { try TrustBundle(path: $0, field: reader.name("ca_file")) }
    }
}

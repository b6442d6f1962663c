import AsyncHTTPClient
import BatonCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// The relying party's calls to the login host: `GET /api/sessions/{sid}` with HTTP
/// Basic, and the JWKS. No redirect is ever followed, and every failure is
/// `store_unavailable` (fail closed) except a clear 404, which is `session_ended`.
///
/// The session lookups, one per redemption, go over ``BackChannelConnections``; the
/// JWKS, fetched once in a while, through `http`.
public struct BackChannelClient: LoginSessionDirectory {
    let http: HTTPClient
    let baseURL: String
    let authorization: String
    let connections: BackChannelConnections

    /// A client for the login host at `baseURL`, authenticating as `clientID`, trusting
    /// `trustRoots` (a `ca_file`, the same as `http` was made with) or else the system's
    /// trust store.
    public init(
        http: HTTPClient, baseURL: String, clientID: String, clientSecret: String, trustRoots: [NIOSSLCertificate]? = nil
    ) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.authorization = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        self.connections = BackChannelConnections(
            url: self.baseURL, group: http.eventLoopGroup, tls: Self.tlsConfiguration(trustRoots: trustRoots),
            connectTimeout: Self.connectTimeout, deadline: Self.deadline)
    }

    /// An HTTP client fit for the back channel (and the login host's logout deliveries):
    /// no redirects, short timeouts, TLS 1.2 or later with the certificate and the host
    /// name always verified — against `trustRoots` when given (a `ca_file`), else the
    /// system's trust store. Nothing turns verification off: the JWKS comes from there
    /// and the client secret goes there.
    /// How long a call to the login host may take, answer included: under the 5 s within
    /// which a redemption is answered (PROTOCOL.md), and over the login host's own 3 s
    /// store deadline, so that its 503 arrives rather than a timeout.
    static let deadline: TimeAmount = .seconds(4)
    static let connectTimeout: TimeAmount = .seconds(2)

    public static func makeHTTPClient(trustRoots: [NIOSSLCertificate]? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: Self.connectTimeout, read: Self.deadline)
        configuration.tlsConfiguration = tlsConfiguration(trustRoots: trustRoots)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The client side of the back channel's TLS. swift-nio-ssl reads the system bundle
    /// itself and ignores `SSL_CERT_FILE`, so a private CA has to be given here.
    static func tlsConfiguration(trustRoots: [NIOSSLCertificate]?) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let trustRoots { tls.trustRoots = .certificates(trustRoots) }
        return tls
    }

    public func lookUp(sid: String) async throws(BatonError) -> SessionInfo {
        guard let encoded = sid.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) else {
            throw .sessionEnded
        }
        let answer: LookupAnswer
        do {
            answer = try await connections.get(
                "/api/sessions/" + encoded, headers: [("Authorization", authorization), ("Accept", "application/json")])
        } catch {
            throw .storeUnavailable
        }
        switch answer.status {
        case 200:
            guard let info = try? SessionInfo(json: Array(buffer: answer.body)) else {
                throw .storeUnavailable
            }
            return info
        case 404:
            throw .sessionEnded
        default:
            throw .storeUnavailable
        }
    }

    /// The login host's JWKS.
    public func fetchJWKS() async throws -> JWKSDocument {
        try await fetchKeySet().document
    }

    /// The login host's JWKS with its `Cache-Control: max-age`, for ``TrustedKeySet``.
    public func fetchKeySet() async throws -> FetchedJWKS {
        var request = HTTPClientRequest(url: baseURL + "/.well-known/jwks.json")
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/jwk-set+json, application/json")
        let response = try await http.execute(request, timeout: Self.deadline)
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok else { throw BatonError.storeUnavailable }
        let cacheControl = response.headers[canonicalForm: "Cache-Control"].joined(separator: ",")
        return FetchedJWKS(
            document: try JWKSDocument(json: Array(buffer: body)),
            maxAge: FetchedJWKS.maxAge(cacheControl: cacheControl.isEmpty ? nil : cacheControl))
    }
}

/// Never the `Authorization` header it sends (the client secret, base64-encoded).
extension BackChannelClient: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "BackChannelClient(\(baseURL))" }
    public var debugDescription: String { description }
}

import BatonCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /metrics` (PROTOCOL.md "Every response of both hosts"): the exposition only for
/// `Authorization: Bearer <metrics_token>`, compared in constant time; 401 with
/// `WWW-Authenticate: Bearer` for a missing or wrong token; and, on a host with no
/// `metrics_token`, the 404 of every unknown path. A scrape reads the process and the
/// store, so nobody without the token may make a host do that work.
public struct MetricsEndpoint: Sendable {
    /// The shortest `metrics_token` a configuration accepts: a token compared over the
    /// network must be beyond guessing, as a client secret is.
    public static let minimumTokenLength = 32

    let metrics: HostMetrics
    /// SHA-256 of the token: what a presented token is compared with, in constant time
    /// and at a fixed length whatever was sent.
    let tokenDigest: String?

    /// The endpoint for `metrics`, open to `token` (nil: answers 404).
    public init(metrics: HostMetrics, token: String?) {
        self.metrics = metrics
        self.tokenDigest = token.map(Secrets.hash)
    }

    /// True when `token` would do as a `metrics_token`: long enough, and printable ASCII
    /// without spaces (it travels in a header).
    public static func isAcceptable(_ token: String) -> Bool {
        token.utf8.count >= minimumTokenLength && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    /// The answer to `request`.
    public func response(_ request: Request) async throws -> Response {
        guard let tokenDigest else { throw HTTPError(.notFound) }
        guard let presented = Self.bearerToken(request.headers[values: .authorization]),
            Secrets.constantTimeEquals(Secrets.hash(presented), tokenDigest)
        else {
            return Response(
                status: .unauthorized, headers: [.wwwAuthenticate: "Bearer", .contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "unauthorized\n")))
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: await metrics.exposition())))
    }

    /// The token of the one `Authorization: Bearer …` header; nil for none, several, or another scheme.
    static func bearerToken(_ values: [String]) -> String? {
        guard values.count == 1, let value = values.first, value.utf8.count <= 1024 else { return nil }
        let scheme = value.prefix(7)
        guard scheme.lowercased() == "bearer " else { return nil }
        let token = value.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// Never the token's digest.
extension MetricsEndpoint: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { tokenDigest == nil ? "MetricsEndpoint(off)" : "MetricsEndpoint(token hidden)" }
    public var debugDescription: String { description }
}

import Hummingbird
import NIOCore

/// The request context of both hosts: Hummingbird's basic one, plus the TCP peer, which
/// the login host's sign-in throttle counts by (see ``ClientAddress``).
public struct BatonRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection's peer: the client, or the proxy in front of it.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

import HTTPTypes

extension HTTPField.Name {
    /// The client chain a trusted proxy reports (see `ClientAddress`).
    public static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

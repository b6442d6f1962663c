import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A child channel that puts TLS in front of `base` (Baton's HTTP/1.1 channel, with its
/// request-deadline and connection-cap handlers), with the context ``ServerCertificate``
/// holds at the moment each connection is accepted: hummingbird's `TLSChannel` keeps
/// one context for the server's life, which a certificate reload cannot replace.
///
/// Nothing but TLS is spoken: plain HTTP sent here fails the handshake and the
/// connection is closed with no HTTP answer (the HTTP handlers only ever see decrypted
/// bytes, and hummingbird installs no error handler that would answer 400).
struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let certificate: ServerCertificate

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = certificate.context
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

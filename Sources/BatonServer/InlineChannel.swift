import BatonWeb
import HummingbirdCore
import Logging
import NIOCore

/// `base`, Baton's HTTP/1.1 channel, with an ``InlineResponder`` for `path` placed
/// between Hummingbird's `HTTPConnectionStateHandler` and the async channel that feeds
/// the router. There, and not among `HTTP1Channel`'s additional handlers (which come
/// before the state handler), the requests it answers still reset the idle timeout and
/// are waited for by a graceful shutdown.
struct InlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let path: String
    let answer: InlineResponder.Answer

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let path = self.path
        let answer = self.answer
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let state = try operations.handler(type: HTTPConnectionStateHandler.self)
            try operations.addHandler(InlineResponder(path: path, answer: answer), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

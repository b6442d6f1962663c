import Synchronization

/// The work did not finish in the time it was given.
public struct DeadlineExceeded: Error, CustomStringConvertible, Sendable {
    public let timeout: Duration
    public var description: String { "no answer within \(timeout)" }
}

/// Runs `body` and answers within `timeout` whatever it does: its result, or
/// ``DeadlineExceeded`` once the time is up. Unlike a task group, this does not wait for
/// a body that ignores cancellation (an engine call stuck in I/O): that body is
/// cancelled and left to finish on its own, and its result is dropped.
public func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withCheckedThrowingContinuation { continuation in
        race.start(continuation)
        let work = Task {
            do {
                race.finish(.success(try await body()))
            } catch {
                race.finish(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if race.finish(.failure(DeadlineExceeded(timeout: timeout))) { work.cancel() }
        }
        race.onFinish { timer.cancel() }
    }
}

/// Whichever of the body and the timer ends first answers the caller, once.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var finished = false
        var onFinish: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Runs `action` when the race ends (at once if it has).
    func onFinish(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            guard !state.finished else { return true }
            state.onFinish = action
            return false
        }
        if now { action() }
    }

    /// True when this call ended the race.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let ended = state.withLock { state -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?)? in
            guard !state.finished else { return nil }
            state.finished = true
            defer { state.continuation = nil; state.onFinish = nil }
            return (state.continuation, state.onFinish)
        }
        guard let (continuation, action) = ended else { return false }
        continuation?.resume(with: result)
        action?()
        return true
    }
}

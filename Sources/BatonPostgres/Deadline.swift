import BatonCore
import Synchronization

/// Runs `operation` and answers within `limit` whatever it does: with its result, or
/// with `StoreError(message)` once `limit` has passed.
///
/// PostgresNIO does not stop a query in flight when its task is cancelled, so a server
/// that accepted the connection and went silent would hold a structured caller for as
/// long as TCP takes to notice. The operation therefore runs in a task of its own: on
/// timeout it is cancelled (which does end a wait for a pooled connection) and left to
/// finish by itself, and the caller is answered at once. An abandoned write may still
/// commit later; the caller has already answered 503, never a success, and a retry
/// finds what it left (a burned jti reads as used).
func withDeadline<T: Sendable>(
    _ limit: Duration, message: @autoclosure () -> String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = Race<T>()
    let timeoutError = StoreError(message())
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(
                continuation,
                work: Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await operation()) } catch { result = .failure(error) }
                    race.finish(result)
                },
                timer: Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    race.finish(.failure(timeoutError))
                })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The state of one ``withDeadline(_:message:_:)``: the first result answers (the
/// tasks may finish before they are handed over), and the tasks are then cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        var first: Result<T, any Error>?
        var answered = false

        /// The continuation and tasks to finish with, once both a result and the continuation are here.
        mutating func answer() -> (CheckedContinuation<T, any Error>, Result<T, any Error>, [Task<Void, Never>])? {
            guard !answered, let continuation, let first else { return nil }
            answered = true
            defer { tasks = [] }
            return (continuation, first, tasks)
        }
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, work: Task<Void, Never>, timer: Task<Void, Never>) {
        let answer = state.withLock { state in
            state.continuation = continuation
            state.tasks = [work, timer]
            return state.answer()
        }
        Self.deliver(answer)
    }

    func finish(_ result: Result<T, any Error>) {
        let answer = state.withLock { state in
            if state.first == nil { state.first = result }
            return state.answer()
        }
        Self.deliver(answer)
    }

    private static func deliver(_ answer: (CheckedContinuation<T, any Error>, Result<T, any Error>, [Task<Void, Never>])?) {
        guard let (continuation, result, tasks) = answer else { return }
        for task in tasks { task.cancel() }
        continuation.resume(with: result)
    }
}

import Foundation
import Synchronization

/// What every harness shares: how an invariant fails, and how an async call is driven
/// from libFuzzer's synchronous entry point.
public enum Fuzz {
    /// Stops the run when `condition` is false. The message goes to standard error and
    /// the process aborts, which libFuzzer reports as a crash, keeping the input.
    public static func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID,
        line: UInt = #line
    ) {
        if !condition() { fail(message(), file: file, line: line) }
    }

    /// Stops the run: an invariant does not hold for this input.
    public static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
        FileHandle.standardError.write(Data("\nINVARIANT BROKEN (\(file):\(line)): \(message)\n".utf8))
        abort()
    }

    /// Runs `body` to completion on the concurrency runtime and returns its result, the
    /// calling thread waiting: libFuzzer calls the harness synchronously, one input at
    /// a time, so nothing else waits on this thread.
    public static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await body()
            box.value.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        guard let value = box.value.withLock({ $0 }) else { fail("the task ended without a result") }
        return value
    }

    /// The input as bytes.
    public static func bytes(_ start: UnsafeRawPointer, _ count: Int) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: start, count: count))
    }

    /// A short printable rendering of bytes for a failure message.
    public static func show(_ bytes: some Sequence<UInt8>) -> String {
        String(String(decoding: Array(bytes), as: UTF8.self).debugDescription.prefix(600))
    }

    /// Writes seed files into the folder named by `BATON_FUZZ_WRITE_SEEDS`, if it is set,
    /// and exits: how `Fuzz/corpus/<harness>/` is regenerated.
    public static func writeSeedsIfAsked(_ seeds: () -> [(name: String, bytes: [UInt8])]) {
        guard let folder = ProcessInfo.processInfo.environment["BATON_FUZZ_WRITE_SEEDS"] else { return }
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for seed in seeds() {
            _ = FileManager.default.createFile(atPath: folder + "/" + seed.name, contents: Data(seed.bytes))
        }
        print("wrote \(seeds().count) seeds to \(folder)")
        exit(0)
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

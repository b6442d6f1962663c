import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The login host's signing keys as they stand now. When the ring came from a file,
/// the file is checked for changes at most once per ``checkInterval`` (lazily, when
/// a token is minted or the JWKS served) and reloaded when it changed, so a rotation
/// by `baton keys rotate` in another process is picked up without a restart.
public final class SigningKeySource: Sendable {
    /// What happened when the file was checked, for the host's log.
    public enum Event: Sendable {
        /// The file changed and was reread: these keys are now the ring.
        case reloaded(kids: [String])
        case reloadFailed(String)
    }

    public let path: String?
    public let checkInterval: TimeInterval
    let clock: any BatonClock
    let onEvent: @Sendable (Event) -> Void
    private let state: Mutex<State>

    private struct State {
        var ring: SigningKeyRing
        var stamp: FileStamp?
        /// A version of the file that could not be loaded: not retried until it changes.
        var failedStamp: FileStamp?
        var lastCheck: Date?
    }

    /// Keys from `ring`, reloaded from `file` whenever it changes.
    public init(
        ring: SigningKeyRing, file: String? = nil, clock: any BatonClock, checkInterval: TimeInterval = 1,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.path = file
        self.clock = clock
        self.checkInterval = checkInterval
        self.onEvent = onEvent
        // No stamp yet: the first use reads the file once more, so a change between the
        // caller's load and now is not missed.
        self.state = Mutex(State(ring: ring))
    }

    /// The ring as the file holds it now (checked at most once per interval).
    public func ring() -> SigningKeyRing {
        guard let path else { return state.withLock { $0.ring } }
        let now = clock.now()
        var event: Event?
        let ring = state.withLock { state -> SigningKeyRing in
            if let lastCheck = state.lastCheck, now >= lastCheck, now.timeIntervalSince(lastCheck) < checkInterval {
                return state.ring
            }
            state.lastCheck = now
            let stamp = FileStamp(path: path)
            guard stamp != state.stamp, stamp != state.failedStamp else { return state.ring }
            do {
                // The stamp is taken before the read: a write in between only costs one
                // more reload next time.
                state.ring = try SigningKeyRing.load(from: path)
                // The first read only confirms the file the host started with.
                if state.stamp != nil { event = .reloaded(kids: state.ring.keys.map(\.kid)) }
                state.stamp = stamp
                state.failedStamp = nil
            } catch {
                // Keep signing with the keys we have until the file changes again.
                state.failedStamp = stamp
                event = .reloadFailed(String(describing: error))
            }
            return state.ring
        }
        if let event { onEvent(event) }
        return ring
    }

    /// The key that signs now.
    public func activeKey() -> SigningKey { ring().active(at: clock.now()) }

    /// The JWKS to publish now: pending, active and retiring keys.
    public func jwks() -> JWKSDocument { ring().jwks(at: clock.now()) }
}

/// What tells one version of a file from the next: an atomic rename gives a new
/// inode, and an edit in place changes the size or the modification time.
struct FileStamp: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let seconds: Int
    let nanoseconds: Int

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        seconds = Int(info.st_mtimespec.tv_sec)
        nanoseconds = Int(info.st_mtimespec.tv_nsec)
        #else
        seconds = Int(info.st_mtim.tv_sec)
        nanoseconds = Int(info.st_mtim.tv_nsec)
        #endif
    }
}

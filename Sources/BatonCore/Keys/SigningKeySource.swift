import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The login host's signing keys as they stand now, reread where they live so that a
/// rotation by `baton keys rotate` in another process is used without a restart:
///
/// - from a **key file**, checked for changes at most once per ``checkInterval``
///   (lazily, when a token is minted or the JWKS served) and reloaded when it changed;
/// - from the **store** (`signing_keys: "database"`, shared by every replica), reread at
///   most once per ``checkInterval`` in the background, so that minting never waits for
///   the store; only a ring older than ``maximumAge`` (a host idle that long) is reread
///   before it is used, for at most ``refreshTimeout``. A rotation written to the store
///   is then used within ``maximumAge`` by every replica, and signs only from its
///   activation, which comes `key_activation_delay_seconds` after it is published.
public final class SigningKeySource: Sendable {
    /// What happened when the keys were reread, for the host's log.
    public enum Event: Sendable {
        /// The keys changed and were reread: these keys are now the ring.
        case reloaded(kids: [String])
        /// They could not be reread; the keys in use stay. Reported once until a reread succeeds.
        case reloadFailed(String)
    }

    public let path: String?
    /// The store the ring lives in, when it is not a file.
    public let store: (any KeyRingStore)?
    public let checkInterval: TimeInterval
    /// In store mode, the oldest ring used without rereading it first.
    public let maximumAge: TimeInterval
    /// In store mode, how long a use waits for the store to reread an old ring.
    public let refreshTimeout: Duration
    let clock: any BatonClock
    let onEvent: @Sendable (Event) -> Void
    private let state: Mutex<State>

    private struct State {
        var ring: SigningKeyRing
        var stamp: FileStamp?
        /// A version of the file that could not be loaded: not retried until it changes.
        var failedStamp: FileStamp?
        var lastCheck: Date?
        /// When the store last answered (store mode).
        var confirmedAt: Date?
        /// The reread of the store under way (store mode).
        var refresh: Task<SigningKeyRing, Never>?
        /// A failed reread was reported and no reread has succeeded since.
        var failing = false
        /// A check of the key file, due when a caller that must not block asked, runs in
        /// the background (file mode).
        var fileCheckQueued = false
    }

    /// Keys from `ring`, reloaded from `file` whenever it changes.
    public init(
        ring: SigningKeyRing, file: String? = nil, clock: any BatonClock, checkInterval: TimeInterval = 1,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.path = file
        self.store = nil
        self.clock = clock
        self.checkInterval = checkInterval
        self.maximumAge = .infinity
        self.refreshTimeout = .zero
        self.onEvent = onEvent
        // No stamp yet: the first use reads the file once more, so a change between the
        // caller's load and now is not missed.
        self.state = Mutex(State(ring: ring))
    }

    /// Keys from `ring`, just read from `store`, and reread from it as the type's
    /// documentation says.
    public init(
        ring: SigningKeyRing, store: any KeyRingStore, clock: any BatonClock, checkInterval: TimeInterval = 1,
        maximumAge: TimeInterval = 5, refreshTimeout: Duration = .seconds(2), onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.path = nil
        self.store = store
        self.clock = clock
        self.checkInterval = checkInterval
        self.maximumAge = maximumAge
        self.refreshTimeout = refreshTimeout
        self.onEvent = onEvent
        let now = clock.now()
        self.state = Mutex(State(ring: ring, lastCheck: now, confirmedAt: now))
    }

    /// The ring as it stands, without waiting: a key file is checked (at most once per
    /// interval); a store is asked in the background when the interval has passed.
    public func ring() -> SigningKeyRing {
        if store != nil { return refreshInBackground().ring }
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

    /// The ring to sign with or publish now: as ``ring()``, except that a ring from the
    /// store older than ``maximumAge`` is reread first (for at most ``refreshTimeout``;
    /// after that, or if the store fails, the ring in hand is used).
    public func currentRing() async -> SigningKeyRing {
        guard store != nil else { return ring() }
        let (ring, refresh, stale) = refreshInBackground()
        guard stale, let refresh else { return ring }
        return (try? await withDeadline(refreshTimeout) { await refresh.value }) ?? ring
    }

    /// The key that signs now.
    public func activeKey() async -> SigningKey { await currentRing().active(at: clock.now()) }

    /// The key ``activeKey()`` would give, for a caller that must neither wait nor do
    /// I/O on its thread (an event loop); nil when there is none to be had that way.
    ///
    /// - From a **store**: nil when the ring in hand is older than ``maximumAge``
    ///   (``currentRing()`` would wait for the reread); the caller then asks ``activeKey()``.
    /// - From a **key file**: the ring in hand; when the file is due for its check (a
    ///   `stat`, and a read when it changed), that check runs in the background, so a
    ///   change is picked up as soon as it would be by ``ring()``, give or take the
    ///   moment the check takes.
    public func activeKeyInHand() -> SigningKey? {
        let now = clock.now()
        if store != nil {
            let (ring, refresh, stale) = refreshInBackground()
            if stale, refresh != nil { return nil }
            return ring.active(at: now)
        }
        let checkInBackground = path != nil
        let (ring, due) = state.withLock { state -> (SigningKeyRing, Bool) in
            let checked = state.lastCheck.map { now >= $0 && now.timeIntervalSince($0) < checkInterval } ?? false
            guard checkInBackground, !checked, !state.fileCheckQueued else { return (state.ring, false) }
            state.fileCheckQueued = true
            return (state.ring, true)
        }
        if due {
            Task {
                _ = self.ring()
                self.state.withLock { $0.fileCheckQueued = false }
            }
        }
        return ring.active(at: now)
    }

    /// The JWKS to publish now: pending, active and retiring keys.
    public func jwks() async -> JWKSDocument { await currentRing().jwks(at: clock.now()) }

    /// The reread of the store under way, if any: tests wait for it.
    func refreshInFlight() -> Task<SigningKeyRing, Never>? { state.withLock { $0.refresh } }

    /// Starts a reread of the store when one is due and none is under way. Returns the
    /// ring in hand, the reread under way, and whether the ring is older than ``maximumAge``.
    private func refreshInBackground() -> (ring: SigningKeyRing, refresh: Task<SigningKeyRing, Never>?, stale: Bool) {
        let now = clock.now()
        return state.withLock { state in
            let stale = state.confirmedAt.map { now < $0 || now.timeIntervalSince($0) >= maximumAge } ?? true
            // At most one reread per interval, however stale: a failing store is not hammered.
            if state.refresh == nil, state.lastCheck.map({ now < $0 || now.timeIntervalSince($0) >= checkInterval }) ?? true {
                state.lastCheck = now
                state.refresh = Task { await self.reread() }
            }
            return (state.ring, state.refresh, stale)
        }
    }

    /// Reads the ring from the store and makes it the one in use; reports a change, and
    /// the first failure after a success.
    private func reread() async -> SigningKeyRing {
        guard let store else { return state.withLock { $0.ring } }
        var event: Event?
        let outcome: Result<SigningKeyRing?, any Error>
        do {
            outcome = .success(try await store.keyRing())
        } catch {
            outcome = .failure(error)
        }
        let now = clock.now()
        let ring = state.withLock { state -> SigningKeyRing in
            state.refresh = nil
            switch outcome {
            case .success(let read?):
                if read.fingerprint != state.ring.fingerprint { event = .reloaded(kids: read.keys.map(\.kid)) }
                state.ring = read
                state.confirmedAt = now
                state.failing = false
            case .success(nil):
                if !state.failing { event = .reloadFailed("the store holds no key ring") }
                state.failing = true
            case .failure(let error):
                if !state.failing { event = .reloadFailed(String(describing: error)) }
                state.failing = true
            }
            return state.ring
        }
        if let event { onEvent(event) }
        return ring
    }
}

extension SigningKeyRing {
    /// What tells two rings apart: each key and when it starts signing.
    var fingerprint: [String] { entries.map { "\($0.key.kid) \($0.activatesAt.timeIntervalSince1970)" } }
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

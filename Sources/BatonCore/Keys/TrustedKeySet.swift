import Foundation
import Synchronization

/// The login host's public keys as a relying party knows them: a configured set, or a
/// JWKS fetched from the login host and cached.
///
/// A fetched set is kept for the `Cache-Control: max-age` the login host sent,
/// clamped to ``maxAgeBounds``, and refreshed on the first use after that; a refresh
/// that fails keeps the cached set, so the relying party keeps working while the login
/// host is briefly unreachable — but only for ``maxStale`` since the last fetch that
/// succeeded: after that the cached keys are dropped and every token is
/// `token_unknown_key` until a fetch succeeds again, so a key the login host has
/// withdrawn (a compromised one, say) is not trusted for ever by a relying party cut
/// off from it. An unknown `kid` triggers at most one refetch per
/// ``refetchInterval``, so a flood of forged kids cannot turn the relying party into a
/// load generator against the login host.
public actor TrustedKeySet {
    public typealias Fetch = @Sendable () async throws -> JWKSDocument
    public typealias CacheableFetch = @Sendable () async throws -> FetchedJWKS

    /// By kid: only the key a token names is ever tried, and only with its own algorithm.
    private var known: [String: VerifyingKey] = [:] {
        didSet { publish() }
    }
    /// The keys as every redemption reads them, with the moment until which they may be
    /// used as they are: a read under a lock rather than a hop onto this actor, and the
    /// signature checked by the caller rather than one at a time here. Past that moment,
    /// or for a kid it lacks, the caller goes through the actor (refresh, refetch).
    private nonisolated let current = Mutex(Snapshot(keys: [:], usableUntil: .distantPast, since: .distantPast))

    private struct Snapshot: Sendable {
        var keys: [String: VerifyingKey]
        var usableUntil: Date
        /// The fetch the keys came from started then; a clock now before it means the
        /// clock went backwards, and the actor decides.
        var since: Date
    }
    private let fetch: CacheableFetch?
    private let clock: any BatonClock
    private var lastFetch: Date?
    /// When the fetch that produced the cached keys started; nil while none is cached.
    private var installedAt: Date?
    /// Until when the cached set may be used without asking again; nil before the first fetch.
    private var freshUntil: Date?
    /// The fetch under way, which every concurrent caller waits for: an actor is
    /// reentrant, and without this the callers arriving during the first fetch would
    /// see an empty set and refuse good tokens as `token_unknown_key`.
    private var inFlight: Task<Void, Never>?
    public let refetchInterval: TimeInterval
    /// The shortest and longest time a fetched set is cached, whatever the login host
    /// says (a missing max-age counts as the longest).
    public let maxAgeBounds: ClosedRange<TimeInterval>
    /// The longest fetched keys are trusted after the fetch that brought them, while
    /// refreshes fail (`jwks_max_stale_seconds`).
    public let maxStale: TimeInterval

    /// The bounds a relying party applies unless told otherwise.
    public static let defaultMaxAgeBounds: ClosedRange<TimeInterval> = 5...300
    /// An hour: long enough to ride out a login host's outage or a network blip, short
    /// enough that a withdrawn key stops being trusted the same day.
    public static let defaultMaxStale: TimeInterval = 3600

    /// Keys fixed by configuration; nothing is ever fetched.
    public init(fixed jwks: JWKSDocument, clock: any BatonClock = SystemClock()) async throws {
        self.fetch = nil
        self.clock = clock
        self.refetchInterval = 30
        self.maxAgeBounds = Self.defaultMaxAgeBounds
        self.maxStale = .infinity
        try await install(jwks)
    }

    /// Keys fetched by `fetch`, which says nothing about caching: they are kept for the
    /// longest of `maxAgeBounds`.
    public init(
        fetchingWith fetch: @escaping Fetch, clock: any BatonClock = SystemClock(), refetchInterval: TimeInterval = 30,
        maxAgeBounds: ClosedRange<TimeInterval> = TrustedKeySet.defaultMaxAgeBounds,
        maxStale: TimeInterval = TrustedKeySet.defaultMaxStale
    ) {
        self.init(
            fetchingCacheableWith: { FetchedJWKS(document: try await fetch(), maxAge: nil) }, clock: clock,
            refetchInterval: refetchInterval, maxAgeBounds: maxAgeBounds, maxStale: maxStale)
    }

    /// Keys fetched by `fetch` with the login host's `max-age`.
    public init(
        fetchingCacheableWith fetch: @escaping CacheableFetch, clock: any BatonClock = SystemClock(),
        refetchInterval: TimeInterval = 30, maxAgeBounds: ClosedRange<TimeInterval> = TrustedKeySet.defaultMaxAgeBounds,
        maxStale: TimeInterval = TrustedKeySet.defaultMaxStale
    ) {
        self.fetch = fetch
        self.clock = clock
        self.refetchInterval = refetchInterval
        self.maxAgeBounds = maxAgeBounds
        self.maxStale = maxStale
    }

    /// True when `kid` is (or, after an allowed refetch, becomes) a trusted key.
    public func contains(kid: String) async -> Bool {
        await key(kid) != nil
    }

    /// True when `kid` is (or becomes) a trusted key for `algorithm`: a key is only
    /// ever used with its own algorithm (RFC 8725 §3.1).
    public func contains(kid: String, algorithm: SigningAlgorithm) async -> Bool {
        await key(kid)?.algorithm == algorithm
    }

    /// What checking a signature found.
    enum SignatureCheck: Sendable {
        /// No trusted key `kid` for the pinned algorithm: `token_unknown_key`.
        case unknownKey
        case invalid
        case valid
    }

    /// Checks `signature` over `input` with the trusted key `kid` only, and only if that
    /// key is one of `algorithm`.
    nonisolated func check(signature: [UInt8], over input: [UInt8], kid: String, algorithm: SigningAlgorithm) async -> SignatureCheck {
        let now = clock.now()
        let cached = current.withLock { snapshot -> VerifyingKey? in
            guard now < snapshot.usableUntil, now >= snapshot.since else { return nil }
            return snapshot.keys[kid]
        }
        let found: VerifyingKey?
        if let cached { found = cached } else { found = await key(kid) }
        guard let key = found, key.algorithm == algorithm else { return .unknownKey }
        return key.isValidSignature(signature, for: input) ? .valid : .invalid
    }

    /// What ``check(signature:over:kid:algorithm:)`` may use without asking the actor:
    /// the known keys until they go stale (fetched) or for ever (configured).
    private func publish() {
        let snapshot: Snapshot
        if fetch == nil {
            snapshot = Snapshot(keys: known, usableUntil: .distantFuture, since: .distantPast)
        } else if let freshUntil, let lastFetch, let installedAt {
            snapshot = Snapshot(
                keys: known, usableUntil: min(freshUntil, installedAt.addingTimeInterval(maxStale)), since: lastFetch)
        } else {
            snapshot = Snapshot(keys: [:], usableUntil: .distantPast, since: .distantPast)
        }
        current.withLock { $0 = snapshot }
    }

    /// The trusted key `kid`, refreshing an expired set first and refetching for an
    /// unknown kid when allowed.
    private func key(_ kid: String) async -> VerifyingKey? {
        if fetch != nil, isStale || isTooOld { await fetchShared() }
        dropIfTooOld()
        if let key = known[kid] { return key }
        await refetchIfAllowed()
        return known[kid]
    }

    private var isStale: Bool {
        guard let freshUntil, let lastFetch else { return true }
        let now = clock.now()
        // A clock that went backwards makes the cache stale rather than fresh for longer.
        return now >= freshUntil || now < lastFetch
    }

    /// The cached keys came from a fetch longer than ``maxStale`` ago.
    private var isTooOld: Bool {
        guard let installedAt else { return false }
        return clock.now().timeIntervalSince(installedAt) > maxStale
    }

    /// Fail closed once the cache is too old: no key is better than a withdrawn one.
    private func dropIfTooOld() {
        guard fetch != nil, isTooOld else { return }
        known = [:]
        installedAt = nil
    }

    private func refetchIfAllowed() async {
        if let inFlight {
            await inFlight.value
            return
        }
        let now = clock.now()
        if let lastFetch, now.timeIntervalSince(lastFetch) < refetchInterval, now >= lastFetch { return }
        await fetchShared()
    }

    /// Fetches once, however many callers ask at the same time.
    private func fetchShared() async {
        if let inFlight {
            await inFlight.value
            return
        }
        guard let fetch else { return }
        let started = clock.now()
        lastFetch = started
        let task = Task {
            if let fetched = try? await fetch(), (try? await self.install(fetched.document)) != nil {
                self.markInstalled(at: started)
                self.markFresh(from: started, maxAge: fetched.maxAge)
            } else {
                // A failed fetch keeps the cached set, and is tried again after the
                // shortest cache time rather than on every use.
                self.markFresh(from: started, maxAge: 0)
            }
        }
        inFlight = task
        await task.value
        inFlight = nil
    }

    private func markInstalled(at started: Date) {
        installedAt = started
        publish()
    }

    /// The cache lifetime counts from when the fetch started: never longer than the
    /// login host allowed.
    private func markFresh(from started: Date, maxAge: TimeInterval?) {
        let lifetime = min(max(maxAge ?? maxAgeBounds.upperBound, maxAgeBounds.lowerBound), maxAgeBounds.upperBound)
        freshUntil = started.addingTimeInterval(lifetime)
        publish()
    }

    /// Replaces the set; a key that is not one (coordinates off the curve) fails the whole
    /// document, and the cached set stays.
    private func install(_ jwks: JWKSDocument) async throws {
        var keys: [String: VerifyingKey] = [:]
        for jwk in jwks.keys {
            guard let key = jwk.verifyingKey else { throw BatonError.storeUnavailable }
            keys[jwk.kid] = key
        }
        known = keys
    }
}

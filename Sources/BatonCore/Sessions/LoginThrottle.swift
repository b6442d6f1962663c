import Foundation

/// Limits password guessing on the login host (PROTOCOL.md: "repeated failures get
/// 429"), counted in three ways:
///
/// - per (username, client address): at most ``Limits/perAccountAndAddress`` failures
///   in ``Limits/window``. This is what stops guessing one person's password;
/// - per client address: at most ``Limits/perAddress`` failures, whatever the usernames,
///   which stops password spraying (one guess for each of many usernames);
/// - per username alone, never a refusal: past ``Limits/perAccountBeforeDelay`` failures
///   from anywhere, each attempt on that username waits ``Limits/accountDelay`` first.
///   Refusing by username would let anyone keep a person locked out; so failures from
///   one address never stop the right password from another.
///
/// An attempt is **reserved** before its password is checked and counts against every
/// limit while it is being checked, so that of any number of concurrent attempts at most
/// the limit get a password check and the rest get 429 without one (a check that ends
/// in a failure then counts as one). Keys are SHA-256 digests, so a 64 KiB username
/// costs what a short one does, and at most ``Limits/maximumKeys`` are kept.
public actor LoginThrottle: SignInThrottling {
    /// The numbers, with the defaults PROTOCOL.md's 429 is tested against.
    public struct Limits: Sendable, Equatable {
        public var perAccountAndAddress: Int
        public var perAddress: Int
        public var perAccountBeforeDelay: Int
        public var accountDelay: Duration
        public var window: TimeInterval
        /// Bounds memory under a flood of addresses and usernames; the oldest keys go first.
        public var maximumKeys: Int

        public init(
            perAccountAndAddress: Int = 5, perAddress: Int = 30, perAccountBeforeDelay: Int = 10,
            accountDelay: Duration = .seconds(1), window: TimeInterval = 300, maximumKeys: Int = 100_000
        ) {
            self.perAccountAndAddress = perAccountAndAddress
            self.perAddress = perAddress
            self.perAccountBeforeDelay = perAccountBeforeDelay
            self.accountDelay = accountDelay
            self.window = window
            self.maximumKeys = maximumKeys
        }
    }

    /// An attempt allowed to check a password: settle it exactly once.
    public struct Reservation: Sendable, Equatable {
        /// The digests the three limits count under (see ``keys(username:address:)``).
        public let pair: String
        public let address: String
        public let account: String
        /// How long to wait before checking the password (a username under attack from many addresses).
        public let delay: Duration
        /// Tells this reservation from every other: a store counting attempts in flight keys them by it.
        public let id: String

        public init(pair: String, address: String, account: String, delay: Duration, id: String = Secrets.random(bytes: 12)) {
            self.pair = pair
            self.address = address
            self.account = account
            self.delay = delay
            self.id = id
        }
    }

    private struct Counter {
        var failures: [Date] = []
        var inFlight = 0
        var touched: Date
    }

    public let limits: Limits
    private let clock: any BatonClock
    private var counters: [String: Counter] = [:]

    public init(limits: Limits = Limits(), clock: any BatonClock) {
        self.limits = limits
        self.clock = clock
    }

    /// A reservation for a password check, or nil: answer 429 without checking.
    public func reserve(username: String, address: String) async throws -> Reservation? {
        let now = clock.now()
        let keys = Self.keys(username: username, address: address)
        guard load(keys.pair, now) < limits.perAccountAndAddress, load(keys.address, now) < limits.perAddress else { return nil }
        let delay = recentFailures(keys.account, now) >= limits.perAccountBeforeDelay ? limits.accountDelay : .zero
        for key in [keys.pair, keys.address] {
            counters[key, default: Counter(touched: now)].inFlight += 1
            counters[key]?.touched = now
        }
        evictIfFull(now)
        return Reservation(pair: keys.pair, address: keys.address, account: keys.account, delay: delay)
    }

    /// How a reserved attempt ended.
    public enum Settlement: Sendable {
        /// The password was wrong: counts against all three keys.
        case failed
        /// Signed in: forgets the failures of this username from this address.
        case succeeded
        /// No password was checked after all (the hashing pool was full, the store failed).
        case uncounted
    }

    /// Ends a reserved attempt.
    public func settle(_ reservation: Reservation, as settlement: Settlement) async throws {
        let now = clock.now()
        for key in [reservation.pair, reservation.address] {
            guard var counter = counters[key] else { continue }
            counter.inFlight = max(0, counter.inFlight - 1)
            counters[key] = counter
        }
        switch settlement {
        case .uncounted:
            break
        case .succeeded:
            counters[reservation.pair]?.failures = []
        case .failed:
            for key in [reservation.pair, reservation.address, reservation.account] {
                var counter = counters[key] ?? Counter(touched: now)
                counter.failures = counter.failures.filter { now.timeIntervalSince($0) < limits.window } + [now]
                counter.touched = now
                counters[key] = counter
            }
        }
        evictIfFull(now)
    }

    /// Counts a failure without a password check (a username that cannot exist).
    public func recordFailure(username: String, address: String) async throws {
        guard let reservation = try await reserve(username: username, address: address) else { return }
        try await settle(reservation, as: .failed)
    }

    /// How many keys are kept (for tests of the memory bound).
    public var keyCount: Int { counters.count }

    private func load(_ key: String, _ now: Date) -> Int {
        guard let counter = counters[key] else { return 0 }
        return counter.failures.filter { now.timeIntervalSince($0) < limits.window }.count + counter.inFlight
    }

    private func recentFailures(_ key: String, _ now: Date) -> Int {
        counters[key]?.failures.filter { now.timeIntervalSince($0) < limits.window }.count ?? 0
    }

    private func evictIfFull(_ now: Date) {
        guard counters.count > limits.maximumKeys else { return }
        counters = counters.filter { $0.value.inFlight > 0 || $0.value.failures.contains { now.timeIntervalSince($0) < limits.window } }
        guard counters.count > limits.maximumKeys else { return }
        // Still full of live keys: drop the least recently touched tenth.
        let drop = counters.sorted { $0.value.touched < $1.value.touched }.prefix(counters.count - limits.maximumKeys * 9 / 10)
        for (key, counter) in drop where counter.inFlight == 0 { counters[key] = nil }
    }

    /// The three counting keys: SHA-256 digests, so that a store holds no username or address.
    public static func keys(username: String, address: String) -> (pair: String, address: String, account: String) {
        let user = username.lowercased()
        return (Secrets.hash("p\u{0}" + user + "\u{0}" + address), Secrets.hash("a\u{0}" + address), Secrets.hash("u\u{0}" + user))
    }
}

/// Where the sign-in throttle keeps its counts: ``LoginThrottle`` in the process's memory
/// (one login host), or a store shared by every replica of one login host, so that the
/// limit is one limit however many replicas a load balancer spreads attempts over.
/// `reserve` must be atomic per key: of any number of concurrent callers, at most the
/// limit get a reservation.
public protocol SignInThrottling: Sendable {
    var limits: LoginThrottle.Limits { get }
    /// A reservation for a password check, or nil: answer 429 without checking.
    func reserve(username: String, address: String) async throws -> LoginThrottle.Reservation?
    /// Ends a reserved attempt (exactly once per reservation).
    func settle(_ reservation: LoginThrottle.Reservation, as settlement: LoginThrottle.Settlement) async throws
    /// Counts a failure without a password check (a username that cannot exist).
    func recordFailure(username: String, address: String) async throws
}

import Foundation

/// Counts failed sign-ins per username and per client address, and says when to
/// answer 429 instead of checking another password (PROTOCOL.md "repeated failures").
public actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    private let clock: any BatonClock
    public let limit: Int
    public let window: TimeInterval

    /// At most `limit` failures per key within `window` seconds.
    public init(limit: Int = 5, window: TimeInterval = 300, clock: any BatonClock) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// True when any of `keys` has used up its failures.
    public func isThrottled(_ keys: [String]) -> Bool {
        let now = clock.now()
        return keys.contains { key in recent(key, now: now).count >= limit }
    }

    /// Records one failure against each of `keys`.
    public func recordFailure(_ keys: [String]) {
        let now = clock.now()
        for key in keys {
            failures[key] = recent(key, now: now) + [now]
        }
        // Keep memory bounded under a spray of usernames.
        if failures.count > 10_000 {
            failures = failures.filter { !recent($0.key, now: now).isEmpty }
        }
    }

    /// Forgets failures of `keys` after a successful sign-in.
    public func reset(_ keys: [String]) {
        for key in keys { failures[key] = nil }
    }

    private func recent(_ key: String, now: Date) -> [Date] {
        (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
    }
}

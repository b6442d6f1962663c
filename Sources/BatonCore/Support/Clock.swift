import Foundation
import Synchronization

/// Where every piece of logic gets the time from, so expiry is testable without sleeping.
public protocol BatonClock: Sendable {
    func now() -> Date
}

/// The wall clock.
public struct SystemClock: BatonClock {
    /// Creates the wall clock.
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to: for tests and for the attack suite's expiry cases.
public final class ManualClock: BatonClock {
    private let current: Mutex<Date>

    /// Creates a clock stopped at `start`.
    public init(_ start: Date = Date()) {
        self.current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative interval).
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

extension Date {
    /// Whole seconds since 1970, as JWT times are written.
    public var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}

extension Date {
    /// Milliseconds since 1970.
    public var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension Duration {
    /// The duration in milliseconds, with a fraction.
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

import BatonCore
import Foundation
import Testing

/// The sign-in throttle's counts as each engine's login host keeps them: the rules of
/// LoginThrottle everywhere, and for a store shared by replicas, one limit across them.
@Suite("Conformance: sign-in throttle counts")
struct SignInThrottleConformanceTests {
    static let start = Date(timeIntervalSince1970: 1_750_000_000)

    /// Two throttles as two replicas (two store instances) have them, on one clock.
    static func replicas(_ engine: Engine, _ store: any ConformanceStore, _ database: TestDatabase, limits: LoginThrottle.Limits = .init())
        async throws -> (any SignInThrottling, any SignInThrottling, ManualClock)
    {
        let clock = ManualClock(start)
        let first = database.throttle(for: store, limits: limits, clock: clock)
        guard engine == .postgres else {
            try Test.cancel("a SQLite login host counts in its process's memory (LoginThrottle): nothing shared to test")
        }
        let second = database.throttle(for: try await database.open(), limits: limits, clock: clock)
        return (first, second, clock)
    }

    @Test("of 60 concurrent attempts on one username from one address, exactly 5 get a password check", arguments: Engine.underTest)
    func concurrentReservations(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let throttle = database.throttle(for: store, clock: ManualClock(Self.start))
            let granted = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<60 { group.addTask { (try? await throttle.reserve(username: "alice", address: "203.0.113.7")) != nil } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(granted == 5)
        }
    }

    @Test("of 60 concurrent attempts spread over two replicas, exactly 5 get a password check", arguments: Engine.underTest)
    func concurrentReservationsAcrossReplicas(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let (a, b, _) = try await Self.replicas(engine, store, database)
            let granted = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<60 {
                    let throttle = index.isMultiple(of: 2) ? a : b
                    group.addTask { (try? await throttle.reserve(username: "alice", address: "203.0.113.7")) != nil }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(granted == 5)
        }
    }

    @Test("failures counted on one replica lock the pair out on the other, and the window frees it", arguments: Engine.underTest)
    func failuresAreShared(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let (a, b, clock) = try await Self.replicas(engine, store, database)
            for _ in 0..<5 { try await a.settle(try #require(try await a.reserve(username: "alice", address: "203.0.113.7")), as: .failed) }
            #expect(try await b.reserve(username: "alice", address: "203.0.113.7") == nil)
            #expect(try await b.reserve(username: "ALICE", address: "203.0.113.7") == nil, "usernames compare without case")
            #expect(try await b.reserve(username: "alice", address: "198.51.100.1") != nil)
            clock.advance(by: 301)
            #expect(try await b.reserve(username: "alice", address: "203.0.113.7") != nil)
        }
    }

    @Test("a reservation never settled (its replica died) stops counting after its lease", arguments: Engine.underTest)
    func abandonedReservationsExpire(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let (a, b, clock) = try await Self.replicas(engine, store, database)
            for _ in 0..<5 { #expect(try await a.reserve(username: "alice", address: "a") != nil) }
            #expect(try await b.reserve(username: "alice", address: "a") == nil)
            clock.advance(by: 59)
            #expect(try await b.reserve(username: "alice", address: "a") == nil)
            clock.advance(by: 2)
            #expect(try await b.reserve(username: "alice", address: "a") != nil)
        }
    }

    @Test("a success forgets the pair's failures; uncounted attempts count as nothing", arguments: Engine.underTest)
    func settlements(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let throttle = database.throttle(for: store, clock: ManualClock(Self.start))
            for _ in 0..<4 { try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .failed) }
            try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .succeeded)
            for _ in 0..<4 { try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .failed) }
            #expect(try await throttle.reserve(username: "alice", address: "a") != nil)
            for _ in 0..<20 { try await throttle.settle(try #require(try await throttle.reserve(username: "bob", address: "b")), as: .uncounted) }
            #expect(try await throttle.reserve(username: "bob", address: "b") != nil)
        }
    }

    @Test("spraying from one address stops at the per-address limit; a username under attack is slowed, never locked", arguments: Engine.underTest)
    func sprayAndDelay(_ engine: Engine) async throws {
        try await withStore(engine) { store, database async throws in
            let limits = LoginThrottle.Limits(perAddress: 30, perAccountBeforeDelay: 10, accountDelay: .seconds(1))
            let throttle = database.throttle(for: store, limits: limits, clock: ManualClock(Self.start))
            for index in 0..<30 {
                try await throttle.settle(try #require(try await throttle.reserve(username: "user\(index)", address: "203.0.113.9")), as: .failed)
            }
            #expect(try await throttle.reserve(username: "user-new", address: "203.0.113.9") == nil)
            #expect(try await throttle.reserve(username: "user-new", address: "203.0.113.10") != nil)
            for index in 0..<10 {
                try await throttle.recordFailure(username: "carol", address: "10.0.0.\(index)")
            }
            let next = try #require(try await throttle.reserve(username: "carol", address: "10.0.1.1"))
            #expect(next.delay == .seconds(1))
        }
    }
}

import Foundation
import Testing

@testable import BatonCore

@Suite("LoginThrottle: reserved before hashing, per username and address, per address, bounded")
struct LoginThrottleTests {
    static func throttle(_ limits: LoginThrottle.Limits = .init()) -> (LoginThrottle, ManualClock) {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        return (LoginThrottle(limits: limits, clock: clock), clock)
    }

    @Test("of 60 concurrent attempts on one username from one address, only 5 get a password check")
    func concurrentAttemptsAreReservedFirst() async throws {
        let (throttle, _) = Self.throttle()
        let granted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<60 { group.addTask { (try? await throttle.reserve(username: "alice", address: "203.0.113.7")) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(granted == 5)
    }

    @Test("five failures from one address lock that address out of that username, and nobody else")
    func lockoutIsPerAddress() async throws {
        let (throttle, clock) = Self.throttle()
        for _ in 0..<5 {
            let reservation = try #require(try await throttle.reserve(username: "alice", address: "203.0.113.7"))
            try await throttle.settle(reservation, as: .failed)
        }
        #expect(try await throttle.reserve(username: "alice", address: "203.0.113.7") == nil)
        #expect(try await throttle.reserve(username: "ALICE", address: "203.0.113.7") == nil, "usernames compare without case")
        // Alice herself, from her own address, is not locked out.
        let own = try #require(try await throttle.reserve(username: "alice", address: "198.51.100.1"))
        #expect(own.delay == .zero)
        clock.advance(by: 301)
        #expect(try await throttle.reserve(username: "alice", address: "203.0.113.7") != nil)
    }

    @Test("a success forgets the failures of that username from that address")
    func successResets() async throws {
        let (throttle, _) = Self.throttle()
        for _ in 0..<4 {
            try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .failed)
        }
        try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .succeeded)
        for _ in 0..<4 {
            try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .failed)
        }
        #expect(try await throttle.reserve(username: "alice", address: "a") != nil)
    }

    @Test("password spraying from one address stops at the per-address limit")
    func sprayIsLimitedPerAddress() async throws {
        let (throttle, _) = Self.throttle(.init(perAddress: 30))
        for index in 0..<30 {
            try await throttle.settle(try #require(try await throttle.reserve(username: "user\(index)", address: "203.0.113.9")), as: .failed)
        }
        #expect(try await throttle.reserve(username: "user-new", address: "203.0.113.9") == nil)
        #expect(try await throttle.reserve(username: "user-new", address: "203.0.113.10") != nil)
    }

    @Test("a username attacked from many addresses is slowed down, never locked")
    func distributedGuessingIsDelayed() async throws {
        let (throttle, _) = Self.throttle(.init(perAccountBeforeDelay: 10, accountDelay: .seconds(1)))
        for index in 0..<10 {
            try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "10.0.0.\(index)")), as: .failed)
        }
        let next = try #require(try await throttle.reserve(username: "alice", address: "10.0.1.1"))
        #expect(next.delay == .seconds(1))
    }

    @Test("an attempt that checked no password counts as nothing")
    func uncountedAttempts() async throws {
        let (throttle, _) = Self.throttle()
        for _ in 0..<20 {
            try await throttle.settle(try #require(try await throttle.reserve(username: "alice", address: "a")), as: .uncounted)
        }
        #expect(try await throttle.reserve(username: "alice", address: "a") != nil)
    }

    @Test("memory stays bounded under a flood of usernames and addresses")
    func boundedMemory() async throws {
        let (throttle, _) = Self.throttle(.init(perAddress: 1_000_000, maximumKeys: 1000))
        for index in 0..<5000 {
            try await throttle.recordFailure(username: String(repeating: "u", count: 60) + "\(index)", address: "10.\(index % 250).0.1")
        }
        #expect(await throttle.keyCount <= 1001)
    }
}

@Suite("HashingPool and PasswordHasher: bounded work, what bcrypt cannot take")
struct PasswordHasherTests {
    @Test("at most concurrency + queue callers are served; the rest are turned away at once")
    func boundedQueue() async {
        let pool = HashingPool(concurrency: 1, queueLimit: 2)
        let served = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<10 {
                group.addTask { await pool.run(waitingAlways: false) { Thread.sleep(forTimeInterval: 0.2); return true } ?? false }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(served == 3)
    }

    @Test("a NUL byte or a 73rd byte never signs in, though bcrypt would ignore what follows")
    func truncationIsRefused() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = await hasher.hash("wonderland")
        #expect(try await hasher.verify("wonderland", hash: hash))
        #expect(try await !hasher.verify("wonderland\u{0}anything", hash: hash))
        let long = String(repeating: "p", count: 72)
        let longHash = await hasher.hash(long)
        #expect(try await hasher.verify(long, hash: longHash))
        #expect(try await !hasher.verify(long + "x", hash: longHash), "bcrypt reads 72 bytes: a 73rd must not be ignored")
        #expect(!PasswordHasher.isAcceptable(long + "x"))
        #expect(!PasswordHasher.isAcceptable("a\u{0}b"))
    }

    @Test("a hash made at another cost is flagged for rehashing")
    func rehashAtNewCost() async {
        let old = await PasswordHasher(cost: 4).hash("wonderland")
        #expect(PasswordHasher(cost: 5).needsRehash(old))
        #expect(!PasswordHasher(cost: 4).needsRehash(old))
    }
}

@Suite("ClientAddress: the TCP peer, or the last untrusted X-Forwarded-For hop behind trusted proxies")
struct ClientAddressTests {
    static let proxies = [IPNetwork("10.0.0.0/8")!, IPNetwork("::1")!]

    @Test("an untrusted peer is the client, whatever X-Forwarded-For says")
    func untrustedPeer() {
        #expect(ClientAddress.resolve(peer: "203.0.113.5", forwardedFor: ["1.2.3.4"], trusted: Self.proxies) == "203.0.113.5")
        #expect(ClientAddress.resolve(peer: "203.0.113.5", forwardedFor: [], trusted: []) == "203.0.113.5")
    }

    @Test("behind trusted proxies: the last hop that is not one of them; the client's own entries are ignored")
    func trustedChain() {
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["198.51.100.7"], trusted: Self.proxies) == "198.51.100.7")
        // The client wrote "1.1.1.1" itself; the proxy appended the address it saw.
        #expect(
            ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["1.1.1.1, 198.51.100.7", "10.0.0.9"], trusted: Self.proxies)
                == "198.51.100.7")
        #expect(ClientAddress.resolve(peer: "::1", forwardedFor: ["2001:db8::1"], trusted: Self.proxies) == "2001:db8::1")
        // Garbage where a proxy's entry should be: only the peer is known.
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: ["not-an-ip"], trusted: Self.proxies) == "10.0.0.2")
        #expect(ClientAddress.resolve(peer: "10.0.0.2", forwardedFor: [], trusted: Self.proxies) == "10.0.0.2")
    }

    @Test("CIDR blocks and IPv4-mapped addresses")
    func networks() {
        let block = IPNetwork("192.168.0.0/16")!
        #expect(block.contains(IPAddress("192.168.44.1")!))
        #expect(!block.contains(IPAddress("192.169.0.1")!))
        #expect(block.contains(IPAddress("::ffff:192.168.1.1")!))
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("banana") == nil && IPNetwork("10.0.0.0/-1") == nil)
        #expect(IPAddress("::ffff:192.168.1.1")?.description == "192.168.1.1")
    }
}

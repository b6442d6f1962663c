import BatonAttack
import BatonCore
import BatonTestSupport
import Foundation
import Synchronization
import Testing

/// Zero failed handoffs across rotations: sign-ins run continuously across real
/// sockets while the key file is rotated twice by another writer, with a small
/// activation delay (the relying parties cache the JWKS for 1 s; their unknown-kid
/// refetch stays at once per 30 s, so it cannot be what saves a handoff).
@Suite("Key rotation under load")
struct RotationUnderLoadTests {
    /// What the workers saw.
    final class Tally: Sendable {
        private struct State {
            var handoffs = 0
            var failures: [String] = []
            var kids: [String] = []
        }
        private let state = Mutex(State())
        private let stopped = Mutex(false)

        func record(kid: String?, failure: String?) {
            state.withLock {
                $0.handoffs += 1
                if let failure { $0.failures.append(failure) }
                if let kid, $0.kids.last != kid { $0.kids.append(kid) }
            }
        }

        func stop() { stopped.withLock { $0 = true } }
        var isStopped: Bool { stopped.withLock { $0 } }
        var handoffs: Int { state.withLock { $0.handoffs } }
        var failures: [String] { state.withLock { $0.failures } }
        /// The kids in the order tokens carried them (a change recorded once per worker interleaving).
        var kids: [String] { state.withLock { $0.kids } }
    }

    static let workers = 4
    static let activationDelay: TimeInterval = 3

    /// One handoff: start at a relying party, get a token from the login host, redeem it.
    static func handoff(_ browser: Browser, at rpOrigin: String) async -> (kid: String?, failure: String?) {
        do {
            let callback = try await browser.obtainCallbackURL(rpOrigin: rpOrigin)
            let kid = Browser.token(in: callback).flatMap { try? CompactJWS(parsing: $0).kid }
            let redeemed = try await browser.get(callback)
            guard KeyRotationTests.redeemed(redeemed) else {
                return (kid, "\(rpOrigin): \(redeemed.status) \(redeemed.batonError ?? "-") kid \(kid ?? "-")")
            }
            return (kid, nil)
        } catch {
            return (nil, "\(rpOrigin): \(error)")
        }
    }

    @Test("two rotations while handoffs run continuously: zero failed handoffs, and the new keys do sign", .timeLimit(.minutes(1)))
    func zeroFailuresAcrossRotations() async throws {
        var options = TestHosts.Options()
        options.jwksMaxAge = 1
        options.jwksMaxAgeBounds = 1...300
        let tally = Tally()
        let (initialKid, rotatedKids) = try await TestHosts.run(options: options) { hosts in
            let browsers = try await withThrowingTaskGroup(of: Browser.self) { group in
                for _ in 0..<Self.workers { group.addTask { try await hosts.signedInBrowser() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let deadline = ContinuousClock.now + .seconds(40)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, browser) in browsers.enumerated() {
                    group.addTask {
                        var round = index
                        while !tally.isStopped, ContinuousClock.now < deadline {
                            let rp = round % 2 == 0 ? TestHosts.dashboardOrigin : TestHosts.reportsOrigin
                            let outcome = await Self.handoff(browser, at: rp)
                            tally.record(kid: outcome.kid, failure: outcome.failure)
                            round += 1
                        }
                    }
                }
                defer { tally.stop() }
                try await Task.sleep(for: .seconds(1))
                var rotated: [String] = []
                for _ in 0..<2 {
                    // `baton keys rotate` in another process: a second writer of the key file.
                    let (_, added) = try SigningKeyRing.rotate(
                        at: hosts.keyFile, algorithm: .eddsa, activationDelay: Self.activationDelay, clock: hosts.clock)
                    rotated.append(added.key.kid)
                    // Through the activation, then a while with the new key signing.
                    try await Task.sleep(for: .seconds(Self.activationDelay + 1.5))
                }
                tally.stop()
                try await group.waitForAll()
                return (hosts.keyRing.keys[0].kid, rotated)
            }
        }
        let failures = tally.failures
        print("rotation under load: \(tally.handoffs) handoffs by \(Self.workers) workers, \(failures.count) failed, kids in order: \(tally.kids.count)")
        #expect(failures.isEmpty, "\(failures.count) of \(tally.handoffs) handoffs failed: \(failures.prefix(5))")
        #expect(tally.handoffs >= 30)
        // Every key signed: the old one, then each rotated key after its activation.
        let seen = tally.kids
        #expect(Set(seen) == Set([initialKid] + rotatedKids))
        #expect(seen.first == initialKid)
        #expect(seen.last == rotatedKids.last)
    }
}

import BatonCore
import Foundation
import Testing

/// `prune(now:idleTimeouts:)` removes what has expired or is surely idle, and nothing
/// that still lives.
@Suite("Conformance: pruning")
struct PruneConformanceTests {
    @Test("prune removes expired tokens, sessions and deliveries only", arguments: Engine.underTest)
    func expired(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await store.insertUser(Records.user("user-1", "alice"))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-old", userID: "user-1", secretHash: "h-old", expiresAt: at(-1)))
            try await store.insertLoginSession(Records.loginSession(sid: "sid-live", userID: "user-1", secretHash: "h-live", expiresAt: at(1)))
            try await store.insertRPSession(Records.rpSession("rp-old", expiresAt: at(-60)))
            try await store.insertRPSession(Records.rpSession("rp-live", expiresAt: at(60)))
            _ = try await store.burn(issuer: "iss", jti: "jti-old", until: at(-2))
            _ = try await store.burn(issuer: "iss", jti: "jti-live", until: at(2).addingTimeInterval(0.5))

            #expect(try await store.prune(now: at(0), idleTimeouts: [:]) == 3)

            #expect(try await store.loginSession(sid: "sid-old") == nil)
            #expect(try await store.loginSession(sid: "sid-live") != nil)
            #expect(try await store.rpSession(idHash: "rp-old") == nil)
            #expect(try await store.rpSession(idHash: "rp-live") != nil)
            #expect(try await store.burn(issuer: "iss", jti: "jti-live", until: at(2)) == .alreadyUsed)
            #expect(try await store.burn(issuer: "iss", jti: "jti-old", until: at(-2)) == .burned)
            #expect(try await store.user(id: "user-1") != nil)
            #expect(try await store.prune(now: at(0), idleTimeouts: [:]) == 1)

            // A delivery past its deadline (its session's expiry) goes too.
            try await store.recordHandoff(sid: "sid-live", clientID: "dashboard", at: at(0))
            try await store.endLoginSession(sid: "sid-live", queueLogoutAt: at(0))
            #expect(try await store.prune(now: at(1), idleTimeouts: [:]) == 0)
            #expect(try await store.prune(now: at(2), idleTimeouts: [:]) == 1)
            #expect(try await store.pendingLogoutDeliveries().isEmpty)
            #expect(try await store.prune(now: at(2), idleTimeouts: [:]) == 0)
        }
    }

    @Test("prune deletes RP sessions whose stored last use is beyond idle timeout + 120 s, and no others", arguments: Engine.underTest)
    func idle(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            let idle = 3600
            let now = at(100_000)
            let margin = Int(SessionLimits.idlePruneMargin)
            func ago(_ seconds: Int) -> Date { now.addingTimeInterval(-TimeInterval(seconds)) }
            let sessions = [
                ("long-idle", "dashboard", ago(idle + margin + 600)),
                ("just-beyond", "dashboard", ago(idle + margin + 1)),
                ("within-margin", "dashboard", ago(idle + margin - 1)),
                ("idle-timeout-only", "dashboard", ago(idle + 1)),
                ("fresh", "dashboard", ago(5)),
                ("reports-idle", "reports", ago(idle + margin + 600)),
                ("unknown-client", "app", ago(10 * idle)),
            ]
            for (index, (id, client, lastSeen)) in sessions.enumerated() {
                var session = Records.rpSession(id, clientID: client, subject: "user-\(index)")
                session.createdAt = ago(50_000)
                session.lastSeen = lastSeen
                session.lastValidated = ago(50_000)
                session.expiresAt = now.addingTimeInterval(86_400)
                try await store.insertRPSession(session)
            }
            let removed = try await store.prune(now: now, idleTimeouts: ["dashboard": TimeInterval(idle), "reports": TimeInterval(4 * idle)])
            #expect(removed == 2)
            for (id, _, _) in sessions {
                let expectedGone = ["long-idle", "just-beyond"].contains(id)
                #expect((try await store.rpSession(idHash: id) == nil) == expectedGone, "\(id)")
            }
            #expect(try await store.prune(now: now, idleTimeouts: [:]) == 0)
        }
    }
}

@Suite("Conformance: readiness probe")
struct ProbeConformanceTests {
    @Test("the probe answers while the store does", arguments: Engine.underTest)
    func probe(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            guard let probe = store as? any StoreProbe else {
                try Test.cancel("\(type(of: store)) is not a StoreProbe in this branch")
            }
            let started = ContinuousClock.now
            try await probe.probe()
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }
}

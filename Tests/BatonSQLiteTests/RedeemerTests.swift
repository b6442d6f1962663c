import Foundation
import GRDB
import Testing

@testable import BatonCore
@testable import BatonSQLite

/// Redeeming a token (PROTOCOL.md "Redeeming a token") against a real SQLite store:
/// every step fails closed with its own code, and a token works exactly once.
@Suite("Redeemer against a real SQLite store")
struct RedeemerTests {
    private func fixture(_ backChannel: FakeDirectory = FakeDirectory(), _ body: (RedeemerFixture) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            try await body(try await RedeemerFixture(directory: directory, backChannel: backChannel))
        }
    }

    @Test("no token parameter: token_missing, nothing burned, the state left alone")
    func tokenMissing() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let result = await f.redeem([], state: state)
            #expect(result.error == .tokenMissing)
            #expect(!result.stateConsumed)
            #expect(try await f.count("used_tokens") == 0)
        }
    }

    @Test("two token parameters: token_malformed, neither jti burned, each still redeems alone")
    func twoTokens() async throws {
        try await fixture { f in
            let state1 = try await f.startSignIn(returnTo: "/one")
            let state2 = try await f.startSignIn(returnTo: "/two")
            let t1 = try await f.mint(state: state1)
            let t2 = try await f.mint(state: state2)
            #expect(await f.redeem([t1.token, t2.token], state: state1).error == .tokenMalformed)
            #expect(await f.redeem([t1.token, t1.token], state: state1).error == .tokenMalformed)
            #expect(await f.redeem([t2.token, t1.token], state: state2).error == .tokenMalformed)
            #expect(try await f.count("used_tokens") == 0)
            #expect(await f.redeem([t1.token], state: state1).created?.session.returnTo == "/one")
            #expect(await f.redeem([t2.token], state: state2).created?.session.returnTo == "/two")
        }
    }

    @Test("a good token creates a session; the store keeps only its hash")
    func success() async throws {
        try await fixture { f in
            let state = try await f.startSignIn(returnTo: "/reports?x=1")
            let minted = try await f.mint(state: state, sid: "sid-login-42")
            let result = await f.redeem([minted.token], state: state)
            let (cookie, session) = try #require(result.created)
            #expect(result.stateConsumed)
            #expect(session.returnTo == "/reports?x=1")
            #expect(session.clientID == "dashboard")
            #expect(session.loginSID == "sid-login-42")
            #expect(session.createdByJTI == minted.jti)
            #expect(session.username == "alice")
            #expect(session.subject == "user-1")
            #expect(session.displayName == "Alice Liddell")
            #expect(session.expiresAt > f.clock.now())
            #expect(session.idHash == Secrets.hash(cookie))
            #expect(try #require(Base64URL.decode(cookie)).count >= 16)
            #expect(try await f.store.rpSession(idHash: Secrets.hash(cookie)) == session)
            #expect(f.backChannel.callCount == 1)

            // The jti fingerprint is for logs: not the jti, not the token.
            let fingerprint = try #require(result.jtiFingerprint)
            #expect(fingerprint != minted.jti && !minted.jti.hasPrefix(fingerprint) && !minted.token.contains(fingerprint))

            // Only the hash is on disk: the cookie, the token and the state never are.
            let bytes = try f.fileBytes()
            func onDisk(_ text: String) -> Bool { bytes.contains(bytes: Array(text.utf8)) }
            let signature = try TokenPartsLite(minted.token).signature
            #expect(onDisk(session.idHash), "the search must be able to find what is there")
            #expect(onDisk(minted.jti), "the jti is burned, so it is on disk")
            #expect(!onDisk(cookie), "the session cookie is in the database file")
            #expect(!onDisk(minted.token), "the token is in the database file")
            #expect(!onDisk(signature), "the token's signature is in the database file")
            #expect(!onDisk(state), "the state is in the database file")
        }
    }

    @Test("the second redemption of a token is token_replayed and creates nothing")
    func replay() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            #expect(await f.redeem([minted.token], state: state).created != nil)
            let again = await f.redeem([minted.token], state: state)
            #expect(again.error == .tokenReplayed)
            #expect(!again.stateConsumed)
            #expect(await f.redeem([minted.token], state: nil).error == .tokenReplayed)
            #expect(try await f.count("rp_sessions") == 1)
            #expect(f.backChannel.callCount == 1)
        }
    }

    @Test("a reload with the session this very jti created continues to return_to and creates nothing")
    func reload() async throws {
        try await fixture { f in
            let state = try await f.startSignIn(returnTo: "/reports")
            let minted = try await f.mint(state: state)
            let (cookie, _) = try #require(await f.redeem([minted.token], state: state).created)
            let reload = await f.redeem([minted.token], state: state, session: cookie)
            #expect(reload.outcome == .success(.reloaded(returnTo: "/reports")))
            #expect(!reload.stateConsumed)
            f.clock.advance(by: 5)
            #expect(await f.redeem([minted.token], state: nil, session: cookie).outcome == .success(.reloaded(returnTo: "/reports")))
            #expect(try await f.count("rp_sessions") == 1)
            #expect(f.backChannel.callCount == 1)
        }
    }

    @Test("a replay presenting any other session cookie is token_replayed")
    func replayWithOtherSession() async throws {
        try await fixture { f in
            let state1 = try await f.startSignIn()
            let t1 = try await f.mint(state: state1)
            let (cookie1, _) = try #require(await f.redeem([t1.token], state: state1).created)
            let state2 = try await f.startSignIn()
            let t2 = try await f.mint(state: state2)
            let (cookie2, _) = try #require(await f.redeem([t2.token], state: state2).created)

            #expect(await f.redeem([t1.token], state: state1, session: cookie2).error == .tokenReplayed)
            #expect(await f.redeem([t2.token], state: state2, session: cookie1).error == .tokenReplayed)
            for cookie in ["", Secrets.random(), Secrets.hash(cookie1), cookie1 + "x", String(repeating: "a", count: 10_000)] {
                #expect(await f.redeem([t1.token], state: state1, session: cookie).error == .tokenReplayed)
            }
            #expect(try await f.count("rp_sessions") == 2)
        }
    }

    @Test("a session of another client does not make a replay a reload")
    func reloadIsPerClient() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            let (cookie, session) = try #require(await f.redeem([minted.token], state: state).created)
            // The same jti and cookie hash, but recorded for another relying party.
            try await f.store.pool.write { db in
                try db.execute(sql: "UPDATE rp_sessions SET client_id = 'reports' WHERE id_hash = ?", arguments: [session.idHash])
            }
            #expect(await f.redeem([minted.token], state: state, session: cookie).error == .tokenReplayed)
        }
    }

    @Test("concurrent redemptions of one token: exactly one session")
    func concurrentRedemptions() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            let redeemer = f.redeemer
            let results = await withTaskGroup(of: Redeemer.Result.self) { group in
                for _ in 0..<16 {
                    group.addTask { await redeemer.redeem(f.callback([minted.token], state: state)) }
                }
                var all: [Redeemer.Result] = []
                for await result in group { all.append(result) }
                return all
            }
            #expect(results.filter { $0.created != nil }.count == 1)
            #expect(results.filter { $0.error == .tokenReplayed }.count == 15)
            #expect(try await f.count("rp_sessions") == 1)
        }
    }

    @Test("no state cookie: state_missing, and the burned token is not usable afterwards")
    func stateMissing() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            let result = await f.redeem([minted.token], state: nil)
            #expect(result.error == .stateMissing)
            #expect(try await f.count("rp_sessions") == 0)
            #expect(await f.redeem([minted.token], state: state).created == nil)

            let state2 = try await f.startSignIn()
            let t2 = try await f.mint(state: state2)
            #expect(await f.redeem([t2.token], state: "").error == .stateMissing)
            #expect(f.backChannel.callCount == 0)
        }
    }

    @Test("a state this relying party did not seal, one past its five minutes, or one whose return path was altered is state_missing")
    func stateNotOurs() async throws {
        try await fixture { f in
            // Older than the sign-in's five minutes, with a token minted at the last moment.
            let old = try await f.startSignIn()
            f.clock.advance(by: 295)
            let t1 = try await f.mint(state: old)
            f.clock.advance(by: 6)
            #expect(await f.redeem([t1.token], state: old).error == .stateMissing)

            // Its return path swapped for another: the state's MAC covers it.
            let swapped = try await f.startSignIn(returnTo: "/reports")
            let t4 = try await f.mint(state: swapped)
            let other = CallbackRequest(
                tokens: [t4.token], stateCookie: swapped, returnCookie: SignInStateSealer.encodeReturn("/admin"), sessionCookie: nil)
            #expect(await f.redeemer.redeem(other).error == .stateMissing)

            // Started for another relying party.
            let foreign = try await f.startSignIn(clientID: "reports")
            let t2 = try await f.mint(state: foreign)
            #expect(await f.redeem([t2.token], state: foreign).error == .stateMissing)

            // Never started at all: the nonce matches, the MAC does not.
            let unknown = Secrets.random(bytes: 40)
            let t3 = try await f.mint(state: unknown)
            #expect(await f.redeem([t3.token], state: unknown).error == .stateMissing)

            #expect(try await f.count("rp_sessions") == 0)
            #expect(f.backChannel.callCount == 0)
        }
    }

    @Test("another sign-in's state: state_mismatch, the state cookie consumed, no session")
    func stateMismatch() async throws {
        try await fixture { f in
            let victimState = try await f.startSignIn()
            let attackerState = try await f.startSignIn()
            let minted = try await f.mint(state: attackerState)
            let result = await f.redeem([minted.token], state: victimState)
            #expect(result.error == .stateMismatch)
            #expect(result.stateConsumed)
            #expect(try await f.count("rp_sessions") == 0)
            #expect(f.backChannel.callCount == 0)
        }
    }

    @Test("the login session has ended: session_ended, no session")
    func sessionEnded() async throws {
        try await fixture(FakeDirectory(.ended)) { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            #expect(await f.redeem([minted.token], state: state).error == .sessionEnded)
            #expect(try await f.count("rp_sessions") == 0)
            #expect(f.backChannel.callCount == 1)
        }
    }

    @Test("the back channel is unreachable: store_unavailable, no session, nothing spent; once it answers the token redeems, once")
    func backChannelUnavailable() async throws {
        try await fixture(FakeDirectory(.unavailable)) { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            #expect(await f.redeem([minted.token], state: state).error == .storeUnavailable)
            #expect(try await f.count("rp_sessions") == 0)
            // Not burned: a second write would only have pushed the answer past 5 s.
            #expect(try await f.count("used_tokens") == 0)
            f.backChannel.set(.live)
            #expect(await f.redeem([minted.token], state: state).created != nil)
            #expect(await f.redeem([minted.token], state: state).error == .tokenReplayed)
            #expect(try await f.count("rp_sessions") == 1)
        }
    }

    @Test(
        "a real SQLite failure at any step is store_unavailable, never a success",
        arguments: ["used_tokens", "rp_sessions"])
    func sqliteFailure(table: String) async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            // Another connection (another process, a careless operator) breaks the file.
            let outsider = try DatabaseQueue(path: f.store.path)
            try await outsider.write { db in try db.execute(sql: "DROP TABLE \(table)") }
            try outsider.close()
            let result = await f.redeem([minted.token], state: state)
            #expect(result.error == .storeUnavailable)
            #expect(result.created == nil)
        }
    }

    @Test("a token for another audience is refused before anything is burned")
    func wrongAudienceBurnsNothing() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state, audience: "reports")
            #expect(await f.redeem([minted.token], state: state).error == .tokenWrongAudience)
            #expect(try await f.count("used_tokens") == 0)
        }
    }

    @Test("a token redeemed at a fractional time can never be burned twice, however often the pruner runs")
    func pruningNeverReopensAReplayWindow() async throws {
        try await fixture { f in
            f.clock.advance(by: 0.6)  // iat is the whole second before: the token lives 10.4 s from here
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            #expect(await f.redeem([minted.token], state: state).created != nil)
            let end = TimeInterval(minted.exp + 2 + 2)
            while f.clock.now().timeIntervalSince1970 < end {
                f.clock.advance(by: 0.25)
                try await f.store.prune(now: f.clock.now())
                // A second burn would show as state_mismatch (another sign-in's state): the
                // jti must still be burned, or the token no longer verify at all.
                let again = await f.redeem([minted.token], state: try await f.startSignIn())
                let at = f.clock.now().timeIntervalSince1970 - TimeInterval(minted.exp)
                #expect(again.error == .tokenReplayed || again.error == .tokenExpired, "exp + \(at) s: \(String(describing: again.error))")
            }
            #expect(try await f.count("rp_sessions") == 1)
        }
    }

    @Test("the burned row is (issuer, jti) kept until exp + leeway + 1 s")
    func burnedRow() async throws {
        try await fixture { f in
            let state = try await f.startSignIn()
            let minted = try await f.mint(state: state)
            #expect(await f.redeem([minted.token], state: state).created != nil)
            let rows = try await f.store.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT issuer, jti, until FROM used_tokens").map { row in
                    [row["issuer"] as String, row["jti"] as String, String(row["until"] as Double)]
                }
            }
            #expect(rows == [[RedeemerFixture.issuer, minted.jti, String(Double(minted.exp + 3))]])
        }
    }
}

/// The signature part of a compact token.
struct TokenPartsLite {
    let signature: String

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        signature = String(parts[2])
    }
}

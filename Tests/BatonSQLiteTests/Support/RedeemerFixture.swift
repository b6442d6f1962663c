import Foundation
import Synchronization

@testable import BatonCore
@testable import BatonSQLite

/// The login host's back channel, as a neighbour the relying party cannot control:
/// answers for a live session, or throws what it is told to.
final class FakeDirectory: LoginSessionDirectory {
    enum Answer: Sendable {
        case live
        case ended
        case unavailable
    }

    private let answer: Mutex<Answer>
    private let calls = Mutex(0)
    private let groupsNow = Mutex(["staff"])
    /// How long each answer takes: concurrent callers overlap.
    let delay: Duration

    init(_ answer: Answer = .live, delay: Duration = .zero) {
        self.answer = Mutex(answer)
        self.delay = delay
    }

    func set(_ answer: Answer) { self.answer.withLock { $0 = answer } }
    /// The groups the login host reports from now on.
    func set(groups: [String]) { groupsNow.withLock { $0 = groups } }
    var callCount: Int { calls.withLock { $0 } }

    func lookUp(sid: String) async throws(BatonError) -> SessionInfo {
        calls.withLock { $0 += 1 }
        if delay > .zero { try? await Task.sleep(for: delay) }
        switch answer.withLock({ $0 }) {
        case .live:
            return SessionInfo(
                sid: sid, sub: "user-1", username: "alice", display_name: "Alice Liddell", email: "alice@example.com",
                groups: groupsNow.withLock { $0 }, auth_time: 1_750_000_000, expires_at: 1_750_000_000 + 8 * 3600)
        case .ended:
            throw .sessionEnded
        case .unavailable:
            throw .storeUnavailable
        }
    }
}

/// A relying party `dashboard` redeeming against a real SQLite file, with a login
/// host's minter on the other side and a stopped clock.
struct RedeemerFixture {
    static let issuer = "http://login.localhost:8080"
    static let clientID = "dashboard"

    let directory: URL
    let store: SQLiteStore
    let clock: ManualClock
    let minter: HandoffMinter
    let backChannel: FakeDirectory
    let redeemer: Redeemer

    init(directory: URL, backChannel: FakeDirectory = FakeDirectory()) async throws {
        self.directory = directory
        store = try SQLiteStore(path: directory.appendingPathComponent("dashboard.sqlite").path)
        clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        let key = SigningKey(createdAt: clock.now())
        minter = await HandoffMinter(issuer: Self.issuer, key: key, clock: clock)
        let keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [key.publicJWK]), clock: clock)
        let verifier = HandoffVerifier(issuer: Self.issuer, audience: Self.clientID, keys: keys, clock: clock)
        self.backChannel = backChannel
        redeemer = Redeemer(
            clientID: Self.clientID, verifier: verifier, store: store, directory: backChannel,
            states: SignInStateSealer(clientID: Self.clientID, secret: Self.secret), clock: clock)
    }

    static let secret = "the-dashboards-client-secret-0123456789"
    private let returnCookies = ReturnCookies()

    /// States and the return cookies `/sso/start` set with them.
    final class ReturnCookies: Sendable {
        private let map = Mutex<[String: String]>([:])
        func withLock<T>(_ body: (inout [String: String]) -> T) -> T { map.withLock { body(&$0) } }
    }

    /// What `/sso/start` does: a new state, sealed by `clientID`'s secret; its return
    /// cookie is remembered and sent with that state by ``redeem(_:state:session:)``.
    func startSignIn(returnTo: String = "/", clientID: String = RedeemerFixture.clientID) async throws -> String {
        let signIn = SignInStateSealer(clientID: clientID, secret: Self.secret).start(returnTo: returnTo, at: clock.now())
        returnCookies.withLock { $0[signIn.state] = SignInStateSealer.returnCookie(for: returnTo) }
        return signIn.state
    }

    /// The return cookie `/sso/start` set with `state`.
    func returnCookie(for state: String?) -> String? {
        state.flatMap { state in returnCookies.withLock { $0[state] } }
    }

    /// What `/handoff` does for that state.
    func mint(state: String, audience: String = RedeemerFixture.clientID, sid: String = "sid-login-1") async throws -> HandoffMinter.Minted {
        try await minter.mint(audience: audience, sid: sid, state: state)
    }

    func redeem(_ tokens: [String], state: String?, session: String? = nil) async -> Redeemer.Result {
        await redeemer.redeem(callback(tokens, state: state, session: session))
    }

    func callback(_ tokens: [String], state: String?, session: String? = nil) -> CallbackRequest {
        CallbackRequest(tokens: tokens, stateCookie: state, returnCookie: returnCookie(for: state), sessionCookie: session)
    }

    /// Rows in a table, read straight from the file.
    func count(_ table: String) async throws -> Int {
        try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }

    /// Every byte of the database: the main file, the WAL and the shared memory.
    func fileBytes() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let path = store.path + suffix
            if let data = FileManager.default.contents(atPath: path) { bytes += data }
        }
        return bytes
    }
}

extension Redeemer.Result {
    var error: BatonError? {
        if case .failure(let error) = outcome { return error }
        return nil
    }

    var created: (cookie: String, session: RPSession)? {
        if case .success(.created(let cookie, let session)) = outcome { return (cookie, session) }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// True when `needle` occurs anywhere in these bytes.
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<start + needle.count]) == needle { return true }
        }
        return false
    }
}

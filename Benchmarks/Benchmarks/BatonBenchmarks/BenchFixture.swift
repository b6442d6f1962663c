import BatonCore
import BatonSQLite
import Foundation

/// A login host's minter on one side and a relying party `dashboard` on the other,
/// verifying and redeeming against a real SQLite file (WAL, `synchronous = FULL`) in
/// its own temporary folder, with a stopped clock so no token expires mid-run.
struct BenchFixture: Sendable {
    static let issuer = "http://login.localhost:8080"
    static let clientID = "dashboard"

    let folder: URL
    let store: SQLiteStore
    let clock: ManualClock
    let minter: HandoffMinter
    let verifier: HandoffVerifier
    let states: SignInStateSealer
    let redeemer: Redeemer

    /// A fixture whose files live in `folder` (created here; see ``removeFolder(_:)``).
    init(folder: URL) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        self.folder = folder
        store = try SQLiteStore(path: folder.appendingPathComponent("dashboard.sqlite").path)
        clock = ManualClock()
        let key = SigningKey(createdAt: clock.now())
        minter = await HandoffMinter(issuer: Self.issuer, key: key, clock: clock)
        let keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [key.publicJWK]), clock: clock)
        verifier = HandoffVerifier(issuer: Self.issuer, audience: Self.clientID, keys: keys, clock: clock)
        states = SignInStateSealer(clientID: Self.clientID, secret: "the-benchmark-client-secret-0123456789")
        redeemer = Redeemer(
            clientID: Self.clientID, verifier: verifier, store: store, directory: LiveLoginSession(), states: states, clock: clock)
    }

    /// A fresh temporary folder name for one benchmark's files.
    static func temporaryFolder(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("baton-bench-\(name)-\(UUID().uuidString)")
    }

    /// Removes a benchmark's folder: its teardown.
    static func removeFolder(_ folder: URL) {
        try? FileManager.default.removeItem(at: folder)
    }

    /// What `/sso/start` does: a new sealed state back to `/` (it writes nothing).
    func startSignIn() async throws -> String {
        states.start(returnTo: "/", at: clock.now()).state
    }

    /// What `/handoff` does for that state: a token for `dashboard`.
    func mint(state: String) async throws -> String {
        try await minter.mint(audience: Self.clientID, sid: "sid-bench", state: state).token
    }
}

/// The login host's back channel answering at once for a live session: the benchmark
/// measures the relying party, not the network.
struct LiveLoginSession: LoginSessionDirectory {
    func lookUp(sid: String) async throws(BatonError) -> SessionInfo {
        SessionInfo(
            sid: sid, sub: "user-1", username: "alice", display_name: "Alice Liddell", email: "alice@example.com",
            groups: ["staff"], auth_time: 1_750_000_000, expires_at: 4_000_000_000)
    }
}

/// A benchmark's precondition failed: the figures would be of something else.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

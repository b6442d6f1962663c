import BatonCore
import BatonSQLite
import Foundation

/// The real SQLite relying-party store with its `burn` replaced: how tests stand in a
/// failing disk or a relying party that forgets which tokens it has seen.
public struct BurnReplacingStore: RelyingPartyStore {
    public let base: SQLiteStore
    let burn: @Sendable (_ issuer: String, _ jti: String, _ until: Date) async throws -> BurnOutcome

    /// `base`, with every burn answered by `burn`.
    public init(base: SQLiteStore, burn: @escaping @Sendable (_ issuer: String, _ jti: String, _ until: Date) async throws -> BurnOutcome) {
        self.base = base
        self.burn = burn
    }

    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome { try await burn(issuer, jti, until) }
    public func pruneUsedTokens(before: Date) async throws -> Int { try await base.pruneUsedTokens(before: before) }
    public func insertPendingSignIn(_ pending: PendingSignIn) async throws { try await base.insertPendingSignIn(pending) }
    public func takePendingSignIn(stateHash: String, now: Date) async throws -> PendingSignIn? {
        try await base.takePendingSignIn(stateHash: stateHash, now: now)
    }
    public func insertRPSession(_ session: RPSession) async throws { try await base.insertRPSession(session) }
    public func rpSession(idHash: String) async throws -> RPSession? { try await base.rpSession(idHash: idHash) }
    public func deleteRPSession(idHash: String) async throws -> Bool { try await base.deleteRPSession(idHash: idHash) }
    public func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await base.deleteRPSessions(loginSID: loginSID, clientID: clientID)
    }
    public func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws { try await base.refreshRPSessions(refreshes) }
}

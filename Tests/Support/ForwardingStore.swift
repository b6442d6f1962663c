import BatonCore
import BatonSQLite
import Foundation

/// The real SQLite relying-party store with some operations replaced: how tests stand in
/// a failing disk, a relying party that forgets which tokens it has seen, or one whose
/// logout leaves the session on the server. Everything not replaced goes to `base`.
public struct OverridingStore: RelyingPartyStore {
    public typealias Burn = @Sendable (_ issuer: String, _ jti: String, _ until: Date) async throws -> BurnOutcome
    public let base: SQLiteStore
    public var burn: Burn?
    public var rpSession: (@Sendable (_ idHash: String) async throws -> RPSession?)?
    public var deleteRPSession: (@Sendable (_ idHash: String) async throws -> Bool)?

    /// `base`, with nothing replaced yet.
    public init(base: SQLiteStore) { self.base = base }

    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        try await (burn ?? { try await base.burn(issuer: $0, jti: $1, until: $2) })(issuer, jti, until)
    }
    public func pruneUsedTokens(before: Date) async throws -> Int { try await base.pruneUsedTokens(before: before) }
    public func insertPendingSignIn(_ pending: PendingSignIn) async throws { try await base.insertPendingSignIn(pending) }
    public func takePendingSignIn(stateHash: String, now: Date) async throws -> PendingSignIn? {
        try await base.takePendingSignIn(stateHash: stateHash, now: now)
    }
    public func insertRPSession(_ session: RPSession) async throws { try await base.insertRPSession(session) }
    public func rpSession(idHash: String) async throws -> RPSession? {
        try await (rpSession ?? { try await base.rpSession(idHash: $0) })(idHash)
    }
    public func deleteRPSession(idHash: String) async throws -> Bool {
        try await (deleteRPSession ?? { try await base.deleteRPSession(idHash: $0) })(idHash)
    }
    public func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int {
        try await base.deleteRPSessions(loginSID: loginSID, clientID: clientID)
    }
    public func refreshRPSessions(_ refreshes: [RPSessionRefresh]) async throws { try await base.refreshRPSessions(refreshes) }
}

extension OverridingStore {
    /// `base`, with every burn answered by `burn`.
    public static func replacingBurn(_ base: SQLiteStore, _ burn: @escaping Burn) -> OverridingStore {
        var store = OverridingStore(base: base)
        store.burn = burn
        return store
    }
}

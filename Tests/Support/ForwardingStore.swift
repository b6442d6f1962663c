import BatonCore
import Foundation

/// The real relying-party store with some operations replaced: how tests stand in a
/// failing disk, a store that does not answer, a relying party that forgets which tokens
/// it has seen, or one whose logout leaves the session on the server. Everything not
/// replaced goes to `base`.
public struct OverridingStore: RelyingPartyStore, StoreProbe {
    public typealias Burn = @Sendable (_ issuer: String, _ jti: String, _ until: Date) async throws -> BurnOutcome
    public let base: any BatonStore
    public var burn: Burn?
    public var rpSession: (@Sendable (_ idHash: String) async throws -> RPSession?)?
    public var deleteRPSession: (@Sendable (_ idHash: String) async throws -> Bool)?
    /// Replaces ``probe()``: what `/readyz` hears.
    public var probeOverride: (@Sendable () async throws -> Void)?

    /// `base`, with nothing replaced yet.
    public init(base: any BatonStore) { self.base = base }

    public func probe() async throws { try await (probeOverride ?? { try await base.probe() })() }

    public func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome {
        try await (burn ?? { try await base.burn(issuer: $0, jti: $1, until: $2) })(issuer, jti, until)
    }
    /// With `burn` replaced, the store remembers no burn: nothing reads as burned either.
    public func isBurned(issuer: String, jti: String) async throws -> Bool {
        burn == nil ? try await base.isBurned(issuer: issuer, jti: jti) : false
    }
    /// With `burn` replaced, its answer decides whether the session is created.
    public func burn(issuer: String, jti: String, until: Date, creating session: RPSession) async throws -> BurnOutcome {
        guard let burn else { return try await base.burn(issuer: issuer, jti: jti, until: until, creating: session) }
        guard try await burn(issuer, jti, until) == .burned else { return .alreadyUsed }
        try await base.insertRPSession(session)
        return .burned
    }
    public func pruneUsedTokens(before: Date) async throws -> Int { try await base.pruneUsedTokens(before: before) }
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
    public static func replacingBurn(_ base: any BatonStore, _ burn: @escaping Burn) -> OverridingStore {
        var store = OverridingStore(base: base)
        store.burn = burn
        return store
    }
}

import Foundation
import JWTKit

/// The login host's public keys as a relying party knows them: a configured set, or a
/// JWKS fetched from the login host and cached. An unknown `kid` triggers at most one
/// refetch per ``refetchInterval``, so a flood of forged kids cannot turn the relying
/// party into a load generator against the login host.
public actor TrustedKeySet {
    public typealias Fetch = @Sendable () async throws -> JWKSDocument

    private var collection = JWTKeyCollection()
    private var known: Set<String> = []
    private let fetch: Fetch?
    private let clock: any BatonClock
    private var lastFetch: Date?
    /// The fetch under way, which every concurrent caller waits for: an actor is
    /// reentrant, and without this the callers arriving during the first fetch would
    /// see an empty set and refuse good tokens as `token_unknown_key`.
    private var inFlight: Task<Void, Never>?
    public let refetchInterval: TimeInterval

    /// Keys fixed by configuration; nothing is ever fetched.
    public init(fixed jwks: JWKSDocument, clock: any BatonClock = SystemClock()) async throws {
        self.fetch = nil
        self.clock = clock
        self.refetchInterval = 30
        try await install(jwks)
    }

    /// Keys fetched by `fetch` on first use and on an unknown kid.
    public init(fetchingWith fetch: @escaping Fetch, clock: any BatonClock = SystemClock(), refetchInterval: TimeInterval = 30) {
        self.fetch = fetch
        self.clock = clock
        self.refetchInterval = refetchInterval
    }

    /// True when `kid` is (or, after an allowed refetch, becomes) a trusted key.
    public func contains(kid: String) async -> Bool {
        if known.contains(kid) { return true }
        await refetchIfAllowed()
        return known.contains(kid)
    }

    /// Verifies the signature with jwt-kit, using only the key named by `kid`.
    func verify<Payload: JWTPayload>(_ token: String, as type: Payload.Type) async throws -> Payload {
        try await collection.verify(token, as: type)
    }

    private func refetchIfAllowed() async {
        if let inFlight {
            await inFlight.value
            return
        }
        guard let fetch else { return }
        let now = clock.now()
        if let lastFetch, now.timeIntervalSince(lastFetch) < refetchInterval, now >= lastFetch { return }
        lastFetch = now
        let task = Task {
            // A failed fetch keeps the cached set: the relying party keeps working
            // while the login host is briefly unreachable.
            if let document = try? await fetch() {
                try? await self.install(document)
            }
        }
        inFlight = task
        await task.value
        inFlight = nil
    }

    private func install(_ jwks: JWKSDocument) async throws {
        let fresh = JWTKeyCollection()
        var kids: Set<String> = []
        for jwk in jwks.keys {
            await fresh.add(eddsa: try EdDSA.PublicKey(x: jwk.x, curve: .ed25519), kid: JWKIdentifier(string: jwk.kid))
            kids.insert(jwk.kid)
        }
        // jwt-kit makes the first key the default and would verify an unknown or
        // missing kid against it: clear it so only the named key is ever used.
        _ = await fresh.clearDefault()
        collection = fresh
        known = kids
    }
}

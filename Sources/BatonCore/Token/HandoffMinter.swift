import JWTKit
import Synchronization

/// Mints handoff tokens on the login host: a 10-second (by default), single-use JWT
/// that carries only the session handle, never anything about the person. Every token
/// is signed with the key that is active when it is minted.
public struct HandoffMinter: Sendable {
    public let issuer: String
    public let lifetime: Int64
    public let clock: any BatonClock
    public let keys: SigningKeySource
    private let signers = SignerCache()

    /// What was minted: the token for the redirect, and what the login host may log.
    public struct Minted: Sendable {
        public let token: String
        public let jti: String
        public let iat: Int64
        public let exp: Int64
    }

    /// A minter signing with `key` only; `lifetime` is clamped to 1...60 seconds.
    public init(issuer: String, key: SigningKey, lifetime: Int64 = 10, clock: any BatonClock) async {
        self.init(issuer: issuer, keys: SigningKeySource(ring: SigningKeyRing(keys: [key]), clock: clock), lifetime: lifetime, clock: clock)
        _ = try? await signers.collection(for: key)
    }

    /// A minter signing with whichever key of `keys` is active at each mint.
    public init(issuer: String, keys: SigningKeySource, lifetime: Int64 = 10, clock: any BatonClock) {
        self.issuer = issuer
        self.lifetime = min(max(lifetime, 1), HandoffVerifier.lifetimeCap)
        self.clock = clock
        self.keys = keys
    }

    /// A token for `audience` pointing at login session `sid`, bound to the relying
    /// party's `state` through `nonce`.
    public func mint(audience: String, sid: String, state: String) async throws -> Minted {
        let iat = clock.now().unixSeconds
        let claims = HandoffClaims(
            iss: issuer, aud: audience, sid: sid, jti: Secrets.random(bytes: 18),
            iat: iat, exp: iat + lifetime, nonce: HandoffClaims.nonce(forState: state))
        let token = try await sign(claims)
        return Minted(token: token, jti: claims.jti, iat: claims.iat, exp: claims.exp)
    }

    /// A back-channel logout token telling `audience` that login session `sid` ended;
    /// it lives 60 seconds (PROTOCOL.md allows at most 120).
    public func mintLogout(audience: String, sid: String) async throws -> Minted {
        let iat = clock.now().unixSeconds
        let claims = LogoutClaims(iss: issuer, aud: audience, iat: iat, exp: iat + 60, jti: Secrets.random(bytes: 18), sid: sid)
        return Minted(token: try await sign(claims), jti: claims.jti, iat: claims.iat, exp: claims.exp)
    }

    /// Signs `claims` with the active key under the `typ` of their kind.
    func sign<Claims: VerifiableClaims>(_ claims: Claims) async throws -> String {
        let key = keys.activeKey()
        var header = JWTHeader()
        header.typ = Claims.tokenType.rawValue
        return try await signers.collection(for: key).sign(claims, kid: JWKIdentifier(string: key.kid), header: header)
    }
}

/// jwt-kit signers for the keys a minter has used, built once per key rather than per
/// token; only the last few are kept, as keys rotate.
final class SignerCache: Sendable {
    private let collections = Mutex<[(kid: String, collection: JWTKeyCollection)]>([])

    func collection(for key: SigningKey) async throws -> JWTKeyCollection {
        if let cached = collections.withLock({ $0.first { $0.kid == key.kid }?.collection }) { return cached }
        let collection = JWTKeyCollection()
        try await key.add(to: collection)
        collections.withLock { cache in
            cache.removeAll { $0.kid == key.kid }
            cache = Array(cache.suffix(3)) + [(key.kid, collection)]
        }
        return collection
    }
}

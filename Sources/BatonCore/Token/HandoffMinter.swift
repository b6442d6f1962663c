import JWTKit

/// Mints handoff tokens on the login host: a 10-second (by default), single-use JWT
/// that carries only the session handle, never anything about the person.
public struct HandoffMinter: Sendable {
    public let issuer: String
    public let lifetime: Int64
    public let clock: any BatonClock
    private let keys: JWTKeyCollection
    private let kid: String

    /// What was minted: the token for the redirect, and what the login host may log.
    public struct Minted: Sendable {
        public let token: String
        public let jti: String
        public let iat: Int64
        public let exp: Int64
    }

    /// A minter signing with `key`; `lifetime` is clamped to 1...60 seconds.
    public init(issuer: String, key: SigningKey, lifetime: Int64 = 10, clock: any BatonClock) async {
        self.issuer = issuer
        self.lifetime = min(max(lifetime, 1), HandoffVerifier.lifetimeCap)
        self.clock = clock
        self.kid = key.kid
        let keys = JWTKeyCollection()
        await keys.add(eddsa: key.eddsa, kid: JWKIdentifier(string: key.kid))
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

    /// Signs `claims` with the minter's key under the `typ` of their kind.
    func sign<Claims: VerifiableClaims>(_ claims: Claims) async throws -> String {
        var header = JWTHeader()
        header.typ = Claims.tokenType.rawValue
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid), header: header)
    }
}

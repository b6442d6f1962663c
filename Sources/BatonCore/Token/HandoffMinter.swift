import Synchronization

/// Mints handoff tokens on the login host: a 10-second (by default), single-use JWT
/// that carries only the session handle, never anything about the person. Every token
/// is signed with the key that is active when it is minted.
public struct HandoffMinter: Sendable {
    public let issuer: String
    public let lifetime: Int64
    public let clock: any BatonClock
    public let keys: SigningKeySource
    private let headers = HeaderCache()

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
        try mint(audience: audience, sid: sid, state: state, key: await keys.activeKey())
    }

    /// ``mint(audience:sid:state:)`` without waiting: nil, and nothing minted, when the
    /// signing keys are due for a reread first (``SigningKeySource/activeKeyInHand()``).
    public func mintInHand(audience: String, sid: String, state: String) throws -> Minted? {
        guard let key = keys.activeKeyInHand() else { return nil }
        return try mint(audience: audience, sid: sid, state: state, key: key)
    }

    private func mint(audience: String, sid: String, state: String, key: SigningKey) throws -> Minted {
        let iat = clock.now().unixSeconds
        let claims = HandoffClaims(
            iss: issuer, aud: audience, sid: sid, jti: Secrets.random(bytes: 18),
            iat: iat, exp: iat + lifetime, nonce: HandoffClaims.nonce(forState: state))
        let token = try sign(claims, with: key)
        return Minted(token: token, jti: claims.jti, iat: claims.iat, exp: claims.exp)
    }

    /// A back-channel logout token telling `audience` that login session `sid` ended;
    /// it lives 60 seconds (PROTOCOL.md allows at most 120).
    public func mintLogout(audience: String, sid: String) async throws -> Minted {
        let iat = clock.now().unixSeconds
        let claims = LogoutClaims(iss: issuer, aud: audience, iat: iat, exp: iat + 60, jti: Secrets.random(bytes: 18), sid: sid)
        return Minted(token: try await sign(claims), jti: claims.jti, iat: claims.iat, exp: claims.exp)
    }

    /// Signs `claims` with the active key under the `typ` of their kind: the compact
    /// serialization `header.payload.signature`, each part base64url.
    func sign<Claims: VerifiableClaims>(_ claims: Claims) async throws -> String {
        try sign(claims, with: await keys.activeKey())
    }

    private func sign<Claims: VerifiableClaims>(_ claims: Claims, with key: SigningKey) throws -> String {
        var input = headers.encoded(for: key, type: Claims.tokenType)
        input += "." + Base64URL.encode(claims.jsonBytes())
        return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
    }
}

/// The encoded header of each (key, token type) a minter has signed with, built once
/// rather than per token; only the last few are kept, as keys rotate.
final class HeaderCache: Sendable {
    private let headers = Mutex<[(key: String, header: String)]>([])

    func encoded(for key: SigningKey, type: TokenType) -> String {
        let name = key.kid + " " + type.rawValue
        if let cached = headers.withLock({ $0.first { $0.key == name }?.header }) { return cached }
        // RFC 7515: `alg` and `kid`; RFC 8725 §3.11: an explicit `typ`. Nothing else.
        var json = JSONText()
        json.string("alg", key.algorithm.rawValue)
        json.string("kid", key.kid)
        json.string("typ", type.rawValue)
        let header = Base64URL.encode(json.close())
        headers.withLock { cache in
            cache.removeAll { $0.key == name }
            cache = Array(cache.suffix(7)) + [(name, header)]
        }
        return header
    }
}

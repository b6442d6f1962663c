import Foundation

/// A kind of token Baton verifies: its `typ`, its claim set read strictly, and the
/// registered claims every kind shares.
public protocol VerifiableClaims: Sendable {
    /// The `typ` header this kind must carry (RFC 8725 §3.11).
    static var tokenType: TokenType { get }
    /// The longest `exp - iat` this kind may ever have.
    static var lifetimeCap: Int64 { get }
    /// Reads the claims, refusing unknown, missing and mistyped ones (`token_malformed`).
    init(strict members: [(String, JSONValue)]) throws(BatonError)
    var iss: String { get }
    var aud: String { get }
    var iat: Int64 { get }
    var exp: Int64 { get }
    var nbf: Int64? { get }
    /// The claims as the JSON a token carries, for minting.
    func jsonBytes() -> [UInt8]
}

/// Verifies a handoff token for one relying party: steps 1 and 2 of "Redeeming a
/// token" in PROTOCOL.md, failing closed, every failure exactly one `BatonError`.
public typealias HandoffVerifier = TokenVerifier<HandoffClaims>

/// Verifies a back-channel logout token, with the same strictness as a handoff.
public typealias LogoutTokenVerifier = TokenVerifier<LogoutClaims>

/// The strict verification every Baton token goes through, in this order: the
/// pre-parse, the pinned algorithm, `typ`, the claim types, a known `kid`, the
/// signature (by swift-crypto, with only the named key, over the exact bytes the token
/// carries: nothing is parsed twice), then `iss`, `aud` and the times.
public struct TokenVerifier<Claims: VerifiableClaims>: Sendable {
    /// At most two seconds of clock skew are forgiven (PROTOCOL.md).
    public static var maximumLeeway: Int64 { 2 }
    /// The longest lifetime any token of this kind may have.
    public static var lifetimeCap: Int64 { Claims.lifetimeCap }

    public let issuer: String
    public let audience: String
    public let keys: TrustedKeySet
    public let clock: any BatonClock
    public let leeway: Int64
    public let maximumLifetime: Int64
    public let expectedType: TokenType
    public let algorithm: SigningAlgorithm

    /// A verifier for tokens from `issuer` to `audience`, signed with `algorithm`.
    public init(
        issuer: String,
        audience: String,
        keys: TrustedKeySet,
        clock: any BatonClock,
        leeway: Int64 = 2,
        maximumLifetime: Int64 = Claims.lifetimeCap,
        expectedType: TokenType = Claims.tokenType,
        algorithm: SigningAlgorithm = .eddsa
    ) {
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.clock = clock
        self.leeway = min(max(leeway, 0), Self.maximumLeeway)
        self.maximumLifetime = min(max(maximumLifetime, 1), Self.lifetimeCap)
        self.expectedType = expectedType
        self.algorithm = algorithm
    }

    /// The verified claims, or the one refusal that applies.
    public func verify(_ token: String) async throws(BatonError) -> Claims {
        let jws = try CompactJWS(parsing: token)
        // The algorithm is pinned by configuration: `none`, `HS*` and anything else
        // are refused before a key is even looked at (RFC 8725 §3.1).
        guard jws.alg == algorithm.rawValue else { throw .tokenUnsupportedAlg }
        guard jws.typ == expectedType.rawValue else { throw .tokenWrongType }
        let claims = try Claims(strict: jws.claims)
        // The key must be trusted for the pinned algorithm, never another one's key.
        guard let kid = jws.kid, !kid.isEmpty, kid.utf8.count <= 128 else { throw .tokenUnknownKey }
        try await checkSignature(jws.signature, over: jws.signingInput, kid: kid)
        try check(claims)
        return claims
    }

    /// The signature step alone: its shape for the pinned algorithm, then swift-crypto's
    /// check with the trusted key `kid`. Apart from ``verify(_:)`` so that the Wycheproof
    /// vectors, whose messages are no JWS signing input, go through exactly this code.
    func checkSignature(_ signature: [UInt8], over input: [UInt8], kid: String) async throws(BatonError) {
        guard algorithm.isWellFormedSignature(signature) else {
            // A malformed signature over a kid nobody trusts is still an unknown key.
            guard await keys.contains(kid: kid, algorithm: algorithm) else { throw .tokenUnknownKey }
            throw .tokenInvalidSignature
        }
        switch await keys.check(signature: signature, over: input, kid: kid, algorithm: algorithm) {
        case .unknownKey: throw .tokenUnknownKey
        case .invalid: throw .tokenInvalidSignature
        case .valid: break
        }
    }

    private func check(_ claims: Claims) throws(BatonError) {
        guard Secrets.constantTimeEquals(claims.iss, issuer) else { throw .tokenWrongIssuer }
        guard Secrets.constantTimeEquals(claims.aud, audience) else { throw .tokenWrongAudience }
        let lifetime = claims.exp - claims.iat
        // exp at or before iat is no lifetime at all: a token that was never valid.
        guard lifetime > 0 else { throw .tokenMalformed }
        guard lifetime <= maximumLifetime else { throw .tokenLifetimeTooLong }
        // Fractional time, never floored: a floored "now" would let a token verify for up
        // to a second past exp + leeway, beyond the time its burned jti is kept for.
        let now = clock.now().timeIntervalSince1970
        if TimeInterval(claims.iat - leeway) > now { throw .tokenNotYetValid }
        if let nbf = claims.nbf, TimeInterval(nbf - leeway) > now { throw .tokenNotYetValid }
        guard now <= TimeInterval(claims.exp + leeway) else { throw .tokenExpired }
    }

    /// How long a verified token's jti must stay burned: past the last instant it
    /// verifies (exp + leeway), with a second to spare for the pruner's own clock
    /// reading and rounding in the store.
    public func burnedUntil(_ claims: Claims) -> Date {
        Date(timeIntervalSince1970: TimeInterval(claims.exp + leeway + Self.burnMargin))
    }

    /// The second of margin ``burnedUntil(_:)`` adds.
    public static var burnMargin: Int64 { 1 }
}

/// The signature algorithms Baton can be configured with.
public enum SigningAlgorithm: String, Sendable, Codable, CaseIterable {
    /// Ed25519 (RFC 8037), the default.
    case eddsa = "EdDSA"
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4).
    case es256 = "ES256"

    /// A signature of the right length and, for Ed25519, with S < L (RFC 8032
    /// §5.1.7): the malleable S + L form is refused before the library sees it. An
    /// ES256 signature is the raw 64-byte `r || s` of RFC 7518 §3.4, never DER.
    func isWellFormedSignature(_ signature: [UInt8]) -> Bool {
        switch self {
        case .eddsa: signature.count == 64 && Ed25519.isCanonicalScalar(signature[32...])
        case .es256: signature.count == 64
        }
    }
}

enum Ed25519 {
    /// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    static let order: [UInt8] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]

    /// True when the little-endian scalar is below the group order.
    static func isCanonicalScalar(_ s: ArraySlice<UInt8>) -> Bool {
        let bytes = Array(s)
        guard bytes.count == 32 else { return false }
        for index in stride(from: 31, through: 0, by: -1) {
            if bytes[index] < order[index] { return true }
            if bytes[index] > order[index] { return false }
        }
        return false
    }
}

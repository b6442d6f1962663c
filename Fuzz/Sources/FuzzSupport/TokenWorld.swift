import BatonCore
import Crypto
import Foundation

/// The fixed world the token harnesses verify in: a relying party `dashboard` of the
/// login host `https://login.example`, a stopped clock, and a trusted key set holding
/// one Ed25519 and one P-256 key, both made from fixed private bytes so that the seed
/// corpus stays genuine from run to run.
public struct TokenWorld: Sendable {
    public static let issuer = "https://login.example"
    public static let audience = "dashboard"
    /// The clock reads a fraction past this second: the verifier must not floor it.
    public static let issuedAt: Int64 = 1_750_000_000
    public static let now = TimeInterval(issuedAt) + 3.25
    public static let handoffJTI = "FuzzHandoffJti0123456789"
    public static let logoutJTI = "FuzzLogoutJti01234567890"
    public static let sid = "sid-fuzz-4f9c2a"
    public static let state = "state-fuzz-0123456789abcdef"

    public let edKey: SigningKey
    public let p256Key: SigningKey
    let edPrivate: Curve25519.Signing.PrivateKey
    let p256Private: P256.Signing.PrivateKey

    public let handoffClaims: HandoffClaims
    public let logoutClaims: LogoutClaims
    /// Handoff tokens: Ed25519 (deterministic, so this exact string) and ES256.
    public let genuineHandoffEdDSA: String
    public let genuineHandoffES256: String
    public let genuineLogoutEdDSA: String

    public let handoffEdDSA: HandoffVerifier
    public let handoffES256: HandoffVerifier
    public let logoutEdDSA: LogoutTokenVerifier

    /// Builds the world, or stops the process if its own genuine tokens do not verify.
    public static func make() -> TokenWorld {
        Fuzz.blocking {
            do {
                return try await TokenWorld()
            } catch {
                Fuzz.fail("the token world cannot be built: \(error)")
            }
        }
    }

    init() async throws {
        let created = Date(timeIntervalSince1970: 0)
        let edSeed = [UInt8](repeating: 0x42, count: 32)
        let p256Scalar = [UInt8](repeating: 0x17, count: 32)
        edKey = try SigningKey(seed: edSeed, createdAt: created)
        p256Key = try SigningKey(algorithm: .es256, privateKey: p256Scalar, createdAt: created)
        edPrivate = try Curve25519.Signing.PrivateKey(rawRepresentation: edSeed)
        p256Private = try P256.Signing.PrivateKey(rawRepresentation: p256Scalar)
        handoffClaims = HandoffClaims(
            iss: Self.issuer, aud: Self.audience, sid: Self.sid, jti: Self.handoffJTI, iat: Self.issuedAt,
            exp: Self.issuedAt + 10, nonce: HandoffClaims.nonce(forState: Self.state))
        logoutClaims = LogoutClaims(
            iss: Self.issuer, aud: Self.audience, iat: Self.issuedAt, exp: Self.issuedAt + 60, jti: Self.logoutJTI, sid: Self.sid)

        let clock = ManualClock(Date(timeIntervalSince1970: Self.now))
        let keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [edKey.publicJWK, p256Key.publicJWK]), clock: clock)
        handoffEdDSA = HandoffVerifier(issuer: Self.issuer, audience: Self.audience, keys: keys, clock: clock)
        handoffES256 = HandoffVerifier(issuer: Self.issuer, audience: Self.audience, keys: keys, clock: clock, algorithm: .es256)
        logoutEdDSA = LogoutTokenVerifier(issuer: Self.issuer, audience: Self.audience, keys: keys, clock: clock)

        let edHeader = Self.header(alg: "EdDSA", kid: edKey.kid, typ: TokenType.handoff.rawValue)
        genuineHandoffEdDSA = try Self.sign(header: edHeader, payload: handoffClaims.jsonBytes(), with: edPrivate)
        genuineHandoffES256 = try Self.sign(
            header: Self.header(alg: "ES256", kid: p256Key.kid, typ: TokenType.handoff.rawValue), payload: handoffClaims.jsonBytes(),
            with: p256Private)
        genuineLogoutEdDSA = try Self.sign(
            header: Self.header(alg: "EdDSA", kid: edKey.kid, typ: TokenType.logout.rawValue), payload: logoutClaims.jsonBytes(),
            with: edPrivate)

        // A harness whose genuine tokens are refused would find nothing.
        guard try await handoffEdDSA.verify(genuineHandoffEdDSA) == handoffClaims,
            try await handoffES256.verify(genuineHandoffES256) == handoffClaims,
            try await logoutEdDSA.verify(genuineLogoutEdDSA) == logoutClaims
        else { Fuzz.fail("a genuine token verified to other claims") }
    }

    /// `{"alg":…,"kid":…,"typ":…}`, the header a login host writes.
    public static func header(alg: String, kid: String, typ: String) -> [UInt8] {
        Array(#"{"alg":"\#(alg)","kid":"\#(kid)","typ":"\#(typ)"}"#.utf8)
    }

    /// The compact JWS of `header` and `payload`, signed with the trusted Ed25519 key.
    public func signEdDSA(header: [UInt8], payload: [UInt8]) -> String {
        do {
            return try Self.sign(header: header, payload: payload, with: edPrivate)
        } catch {
            Fuzz.fail("Ed25519 signing failed: \(error)")
        }
    }

    /// The signing input (`header.payload`) of a token made of these parts.
    public static func signingInput(header: [UInt8], payload: [UInt8]) -> String {
        Base64URL.encode(header) + "." + Base64URL.encode(payload)
    }

    static func sign(header: [UInt8], payload: [UInt8], with key: Curve25519.Signing.PrivateKey) throws -> String {
        let input = signingInput(header: header, payload: payload)
        return input + "." + Base64URL.encode(try key.signature(for: Array(input.utf8)))
    }

    static func sign(header: [UInt8], payload: [UInt8], with key: P256.Signing.PrivateKey) throws -> String {
        let input = signingInput(header: header, payload: payload)
        return input + "." + Base64URL.encode(try key.signature(for: Array(input.utf8)).rawRepresentation)
    }
}

/// A verification's outcome, with the error kept.
public enum Verdict<Claims: Sendable>: Sendable {
    case accepted(Claims)
    case refused(BatonError)

    public var claims: Claims? {
        if case .accepted(let claims) = self { return claims }
        return nil
    }

    public var error: BatonError? {
        if case .refused(let error) = self { return error }
        return nil
    }
}

extension TokenVerifier {
    /// `verify`, driven to completion from a synchronous harness.
    public func verdict(_ token: String) -> Verdict<Claims> {
        Fuzz.blocking {
            do throws(BatonError) {
                return .accepted(try await self.verify(token))
            } catch {
                return .refused(error)
            }
        }
    }
}

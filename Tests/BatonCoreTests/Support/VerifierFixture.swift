import Foundation

@testable import BatonCore

/// A relying party's verifier for audience `dashboard`, a stopped clock, the login
/// host's key (in the trusted set) and an attacker's key (not in it).
struct VerifierFixture {
    static let issuer = "http://login.localhost:8080"
    static let audience = "dashboard"
    static let start: Int64 = 1_750_000_000
    static let state = "state-0123456789abcdef"

    let clock: ManualClock
    let issuerKey: TokenForge
    let attackerKey: TokenForge
    let keys: TrustedKeySet
    let verifier: HandoffVerifier

    init(audience: String = VerifierFixture.audience, leeway: Int64 = 2, maximumLifetime: Int64 = 60) async throws {
        clock = ManualClock(Date(timeIntervalSince1970: TimeInterval(Self.start)))
        issuerKey = try TokenForge(seedByte: 0x11)
        attackerKey = try TokenForge(seedByte: 0x66)
        keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [issuerKey.signingKey.publicJWK]), clock: clock)
        verifier = HandoffVerifier(
            issuer: Self.issuer, audience: audience, keys: keys, clock: clock,
            leeway: leeway, maximumLifetime: maximumLifetime)
    }

    /// The current time in whole seconds.
    var now: Int64 { clock.now().unixSeconds }

    /// A header with the given members; `kid` defaults to the issuer's key.
    func header(alg: String = "EdDSA", kid: String? = nil, typ: String? = "handoff+jwt") -> String {
        var members = [#""alg":\#(q(alg))"#]
        members.append(#""kid":\#(q(kid ?? issuerKey.kid))"#)
        if let typ { members.append(#""typ":\#(q(typ))"#) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The issuer's header text with `KID` replaced by the issuer's kid.
    func expand(_ template: String) -> String {
        template.replacingOccurrences(of: "KID", with: issuerKey.kid)
    }

    /// Default claims: a well-formed 10-second token for `dashboard`, issued now.
    /// `changes` replaces a claim's raw JSON value (or removes it with nil); `extra`
    /// appends raw members.
    func claims(_ changes: [String: String?] = [:], extra: [(String, String)] = []) -> String {
        let iat = now
        let defaults: [(String, String)] = [
            ("iss", q(Self.issuer)),
            ("aud", q(Self.audience)),
            ("sid", q("sid-4f9c2a")),
            ("jti", q(Secrets.random(bytes: 18))),
            ("iat", "\(iat)"),
            ("exp", "\(iat + 10)"),
            ("nonce", q(HandoffClaims.nonce(forState: Self.state))),
        ]
        var members: [String] = []
        for (name, value) in defaults {
            if let change = changes[name] {
                if let change { members.append("\(q(name)):\(change)") }
            } else {
                members.append("\(q(name)):\(value)")
            }
        }
        for (name, value) in extra { members.append("\(q(name)):\(value)") }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// A token signed by the login host's real key.
    func signed(header: String? = nil, payload: String? = nil) throws -> String {
        try issuerKey.token(header: header ?? self.header(), payload: payload ?? claims())
    }

    /// The refusal for `token`, or nil when it verifies.
    func refusal(_ token: String) async -> BatonError? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error
        }
    }
}

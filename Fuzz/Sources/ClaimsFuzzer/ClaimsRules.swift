import BatonCore
import FuzzSupport

/// Built on first use, from LLVMFuzzerInitialize (top-level code in main.swift never runs).
let world = TokenWorld.make()

/// PROTOCOL.md's rules for a token whose signature is good, written again from the
/// document rather than from the verifier: the reference the claims harness checks
/// the verifier against. Only JSON itself is read with ``StrictJSON`` (which has a
/// harness of its own).
enum ClaimsRules {
    static let handoffNames: Set<[UInt8]> = Set(["iss", "aud", "sid", "jti", "iat", "exp", "nonce", "nbf"].map { Array($0.utf8) })
    static let logoutNames: Set<[UInt8]> = Set(["iss", "aud", "jti", "sid", "iat", "exp", "events"].map { Array($0.utf8) })
    static let event = Array("http://schemas.openid.net/event/backchannel-logout".utf8)

    /// The claims a handoff verifier must return, or nil when it must refuse.
    static func handoff(header: [UInt8], payload: [UInt8], tokenLength: Int) -> HandoffClaims? {
        guard tokenLength <= 4096, headerIsGood(header, typ: "handoff+jwt"),
            let members = claims(payload, allowed: handoffNames)
        else { return nil }
        guard let iss = members.string("iss"), let aud = members.string("aud"), let sid = members.string("sid"),
            let jti = members.string("jti"), let nonce = members.string("nonce"), let iat = members.seconds("iat"),
            let exp = members.seconds("exp"), members.allValid
        else { return nil }
        let nbf = members.seconds("nbf")
        if members.has("nbf"), nbf == nil { return nil }
        guard isJTI(jti), nonce.utf8.count == 43, nonce.utf8.allSatisfy(isBase64URL),
            timesAreGood(iat: iat, exp: exp, nbf: nbf, cap: 60), Array(iss.utf8) == Array(TokenWorld.issuer.utf8),
            Array(aud.utf8) == Array(TokenWorld.audience.utf8)
        else { return nil }
        return HandoffClaims(iss: iss, aud: aud, sid: sid, jti: jti, iat: iat, exp: exp, nonce: nonce, nbf: nbf)
    }

    /// The claims a logout verifier must return, or nil when it must refuse.
    static func logout(header: [UInt8], payload: [UInt8], tokenLength: Int) -> LogoutClaims? {
        guard tokenLength <= 4096, headerIsGood(header, typ: "logout+jwt"),
            let members = claims(payload, allowed: logoutNames)
        else { return nil }
        guard let iss = members.string("iss"), let aud = members.string("aud"), let sid = members.string("sid"),
            let jti = members.string("jti"), let iat = members.seconds("iat"), let exp = members.seconds("exp"),
            case .object(let events)? = members.value("events"), events.count == 1, Array(events[0].0.utf8) == event,
            case .object(let body) = events[0].1, body.isEmpty, members.allValid
        else { return nil }
        guard isJTI(jti), timesAreGood(iat: iat, exp: exp, nbf: nil, cap: 120), Array(iss.utf8) == Array(TokenWorld.issuer.utf8),
            Array(aud.utf8) == Array(TokenWorld.audience.utf8)
        else { return nil }
        return LogoutClaims(iss: iss, aud: aud, iat: iat, exp: exp, jti: jti, sid: sid)
    }

    /// Only `alg`, `kid` and `typ`, each a string: EdDSA, the trusted Ed25519 key, `typ`.
    static func headerIsGood(_ header: [UInt8], typ: String) -> Bool {
        guard let members = try? StrictJSON.parseObject(header, maxDepth: 1) else { return false }
        var found: [String: [UInt8]] = [:]
        for (name, value) in members {
            guard case .string(let text) = value else { return false }
            let key = String(decoding: Array(name.utf8), as: UTF8.self)
            guard ["alg", "kid", "typ"].contains(where: { Array($0.utf8) == Array(key.utf8) }) else { return false }
            found[key] = Array(text.utf8)
        }
        return found["alg"] == Array("EdDSA".utf8) && found["kid"] == Array(world.edKey.kid.utf8) && found["typ"] == Array(typ.utf8)
    }

    /// The payload's members when it is an object of known claims, nil otherwise.
    static func claims(_ payload: [UInt8], allowed: Set<[UInt8]>) -> Members? {
        guard let members = try? StrictJSON.parseObject(payload, maxDepth: 2),
            members.allSatisfy({ allowed.contains(Array($0.0.utf8)) })
        else { return nil }
        return Members(members: members)
    }

    /// 22 to 128 characters of base64url: at least 128 random bits.
    static func isJTI(_ jti: String) -> Bool {
        (22...128).contains(jti.utf8.count) && jti.utf8.allSatisfy(isBase64URL)
    }

    /// A positive lifetime within the cap, and "now" (a quarter past the world's third
    /// second) within [iat - 2, exp + 2] and after nbf - 2, with no rounding.
    static func timesAreGood(iat: Int64, exp: Int64, nbf: Int64?, cap: Int64) -> Bool {
        let nowSecond = TokenWorld.issuedAt + 3  // now is nowSecond + 0.25
        let lifetime = exp - iat
        guard lifetime > 0, lifetime <= cap else { return false }
        // iat - 2 > now  ⟺  iat - 2 > nowSecond (integers against nowSecond + 0.25).
        if iat - 2 > nowSecond { return false }
        if let nbf, nbf - 2 > nowSecond { return false }
        // now > exp + 2  ⟺  exp + 2 <= nowSecond.
        return exp + 2 > nowSecond
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}

/// A payload's members, looked up byte for byte.
struct Members {
    let members: [(String, JSONValue)]

    func value(_ name: String) -> JSONValue? {
        members.first { Array($0.0.utf8) == Array(name.utf8) }?.1
    }

    func has(_ name: String) -> Bool { value(name) != nil }

    /// A string claim: non-empty, at most 512 bytes.
    func string(_ name: String) -> String? {
        guard case .string(let text)? = value(name), !text.isEmpty, text.utf8.count <= 512 else { return nil }
        return text
    }

    /// A time: a whole number of seconds, digits only (a leading `-` allowed for `-0`),
    /// at most 16 digits and 2^53, and not negative.
    func seconds(_ name: String) -> Int64? {
        guard case .number(let text)? = value(name) else { return nil }
        var digits = Array(text.utf8)
        if digits.first == UInt8(ascii: "-") { digits.removeFirst() }
        guard (1...16).contains(digits.count), digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let magnitude = digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 48) }
        guard magnitude <= 9_007_199_254_740_992 else { return nil }
        let value = text.utf8.first == UInt8(ascii: "-") ? -magnitude : magnitude
        return value >= 0 ? value : nil
    }

    /// Every member that is present has the type and bounds of its claim.
    var allValid: Bool {
        members.allSatisfy { name, _ in
            switch name {
            case "iss", "aud", "sid", "jti", "nonce": string(name) != nil
            case "iat", "exp", "nbf": seconds(name) != nil
            default: true
            }
        }
    }
}

/// The claims of a back-channel logout token (PROTOCOL.md, after OpenID Connect
/// Back-Channel Logout 1.0 §2.4): exactly iss, aud, iat, exp, jti, sid and events
/// with the back-channel-logout member; no nonce, nothing about the person.
public struct LogoutClaims: VerifiableClaims, Equatable {
    public static var tokenType: TokenType { .logout }
    /// A logout token lives at most two minutes.
    public static var lifetimeCap: Int64 { 120 }
    /// The member `events` must hold.
    public static let event = "http://schemas.openid.net/event/backchannel-logout"

    public var iss: String
    public var aud: String
    public var iat: Int64
    public var exp: Int64
    public var jti: String
    public var sid: String
    public var events: [String: [String: String]]
    public var nbf: Int64? { nil }

    /// A logout claim set for `sid`, sent to `aud`.
    public init(iss: String, aud: String, iat: Int64, exp: Int64, jti: String, sid: String) {
        self.iss = iss
        self.aud = aud
        self.iat = iat
        self.exp = exp
        self.jti = jti
        self.sid = sid
        self.events = [Self.event: [:]]
    }

    public init(strict members: [(String, JSONValue)]) throws(BatonError) {
        var strings: [String: String] = [:]
        var times: [String: Int64] = [:]
        var sawEvent = false
        for (name, value) in members {
            switch name {
            case "iss", "aud", "jti", "sid":
                guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 512 else { throw .tokenMalformed }
                strings[name] = text
            case "iat", "exp":
                guard let seconds = value.integerValue, seconds >= 0 else { throw .tokenMalformed }
                times[name] = seconds
            case "events":
                // An object whose only member is the back-channel-logout event, itself an object.
                guard case .object(let events) = value, events.count == 1, events[0].0 == Self.event,
                    case .object(let body) = events[0].1, body.isEmpty
                else { throw .tokenMalformed }
                sawEvent = true
            default:
                // `nonce` is forbidden in a logout token, and so is everything else.
                throw .tokenMalformed
            }
        }
        guard sawEvent, let iss = strings["iss"], let aud = strings["aud"], let jti = strings["jti"], let sid = strings["sid"],
            let iat = times["iat"], let exp = times["exp"],
            jti.utf8.count >= 22, jti.utf8.count <= 128, Base64URL.isAlphabet(jti)
        else { throw .tokenMalformed }
        self.init(iss: iss, aud: aud, iat: iat, exp: exp, jti: jti, sid: sid)
    }

    public func jsonBytes() -> [UInt8] {
        var json = JSONText()
        json.string("iss", iss)
        json.string("aud", aud)
        json.integer("iat", iat)
        json.integer("exp", exp)
        json.string("jti", jti)
        json.string("sid", sid)
        var event: [UInt8] = []
        JSONText.append(quoted: Self.event, to: &event)
        json.raw("events", "{" + String(decoding: event, as: UTF8.self) + ":{}}")
        return json.close()
    }
}

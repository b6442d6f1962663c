/// The claims of a handoff token: exactly these, all required but `nbf`, and nothing
/// else (PROTOCOL.md "The handoff token"). Nothing about the person travels here; `sid`
/// is a handle the relying party looks up over the back channel.
public struct HandoffClaims: VerifiableClaims, Equatable {
    public static var tokenType: TokenType { .handoff }
    /// No handoff token may live longer than a minute.
    public static var lifetimeCap: Int64 { 60 }

    public var iss: String
    public var aud: String
    public var sid: String
    public var jti: String
    public var iat: Int64
    public var exp: Int64
    public var nonce: String
    public var nbf: Int64?

    /// Creates a claim set.
    public init(iss: String, aud: String, sid: String, jti: String, iat: Int64, exp: Int64, nonce: String, nbf: Int64? = nil) {
        self.iss = iss
        self.aud = aud
        self.sid = sid
        self.jti = jti
        self.iat = iat
        self.exp = exp
        self.nonce = nonce
        self.nbf = nbf
    }

    /// Reads the claims from a strictly parsed payload, refusing unknown claims, missing
    /// claims and every value of the wrong type (`token_malformed`).
    public init(strict members: [(String, JSONValue)]) throws(BatonError) {
        var strings: [String: String] = [:]
        var times: [String: Int64] = [:]
        for (name, value) in members {
            switch name {
            case "iss", "aud", "sid", "jti", "nonce":
                guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 512 else { throw .tokenMalformed }
                strings[name] = text
            case "iat", "exp", "nbf":
                guard let seconds = value.integerValue, seconds >= 0 else { throw .tokenMalformed }
                times[name] = seconds
            default:
                throw .tokenMalformed
            }
        }
        guard let iss = strings["iss"], let aud = strings["aud"], let sid = strings["sid"],
            let jti = strings["jti"], let nonce = strings["nonce"],
            let iat = times["iat"], let exp = times["exp"]
        else { throw .tokenMalformed }
        // At least 128 random bits, base64url: 22 characters or more.
        guard jti.utf8.count >= 22, jti.utf8.count <= 128, Base64URL.isAlphabet(jti) else { throw .tokenMalformed }
        // base64url(SHA-256(state)) is always 43 characters.
        guard nonce.utf8.count == 43, Base64URL.isAlphabet(nonce) else { throw .tokenMalformed }
        self.init(iss: iss, aud: aud, sid: sid, jti: jti, iat: iat, exp: exp, nonce: nonce, nbf: times["nbf"])
    }

    public func jsonBytes() -> [UInt8] {
        var json = JSONText()
        json.string("iss", iss)
        json.string("aud", aud)
        json.string("sid", sid)
        json.string("jti", jti)
        json.integer("iat", iat)
        json.integer("exp", exp)
        if let nbf { json.integer("nbf", nbf) }
        json.string("nonce", nonce)
        return json.close()
    }

    /// The nonce a login host puts in a token for the relying party's `state`.
    public static func nonce(forState state: String) -> String {
        Secrets.hash(state)
    }
}

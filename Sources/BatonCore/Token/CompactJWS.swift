/// A JWS in compact serialization, taken apart strictly before any signature
/// library sees it (PROTOCOL.md "The handoff token"):
/// exactly three strict base64url parts, JSON objects without duplicate keys, and a
/// header holding only `alg`, `kid` and `typ`, each a string.
public struct CompactJWS: Sendable {
    /// Tokens longer than this are refused unread: a handoff token is ~400 bytes.
    public static let maximumLength = 4096

    public let alg: String
    public let kid: String?
    public let typ: String?
    public let claims: [(String, JSONValue)]
    /// The bytes the signature covers: `header.payload`.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    /// Parses `token`, or throws `token_malformed`.
    public init(parsing token: String) throws(BatonError) {
        guard token.utf8.count <= Self.maximumLength else { throw .tokenMalformed }
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        // Three parts: a JWE (five) or a JWS JSON serialization never gets further.
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { throw .tokenMalformed }
        guard let headerBytes = Base64URL.decode(Substring(parts[0])),
            let payloadBytes = Base64URL.decode(Substring(parts[1])),
            let signature = Base64URL.decode(Substring(parts[2]))
        else { throw .tokenMalformed }
        let header: [(String, JSONValue)]
        let claims: [(String, JSONValue)]
        do {
            header = try StrictJSON.parseObject(headerBytes, maxDepth: 1)
            claims = try StrictJSON.parseObject(payloadBytes, maxDepth: 2)
        } catch {
            throw .tokenMalformed
        }
        var alg: String?
        var kid: String?
        var typ: String?
        for (name, value) in header {
            // RFC 8725 §3.1 and PROTOCOL.md: jku, x5u, x5c, jwk, crit, b64, cty and every
            // other parameter are refused, not ignored.
            guard let text = value.stringValue else { throw .tokenMalformed }
            switch name {
            case "alg": alg = text
            case "kid": kid = text
            case "typ": typ = text
            default: throw .tokenMalformed
            }
        }
        guard let alg else { throw .tokenMalformed }
        self.alg = alg
        self.kid = kid
        self.typ = typ
        self.claims = claims
        self.signingInput = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))
        self.signature = signature
    }
}

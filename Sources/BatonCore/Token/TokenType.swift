/// The `typ` header values Baton issues (RFC 8725 §3.11: explicit typing), so a token
/// minted for one purpose can never be accepted for another.
public enum TokenType: String, Sendable {
    case handoff = "handoff+jwt"
    case logout = "logout+jwt"
}

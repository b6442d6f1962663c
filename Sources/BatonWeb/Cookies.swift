import Hummingbird

/// The `__Host-` cookies of PROTOCOL.md, always with HttpOnly, Secure, SameSite=Lax,
/// Path=/ and no Domain: the prefix makes the browser refuse any other form, so a
/// sibling subdomain cannot plant one.
public enum BatonCookie: String, Sendable {
    case login = "__Host-baton_login"
    case state = "__Host-baton_state"
    case session = "__Host-baton_session"
    /// Double-submit CSRF token for the forms of either host.
    case csrf = "__Host-baton_csrf"

    /// A cookie carrying `value`; `maxAge` nil makes it last for the browser session.
    public func set(_ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: rawValue, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .lax)
    }

    /// A cookie that makes the browser forget this one.
    public func clear() -> Cookie {
        Cookie(name: rawValue, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true, sameSite: .lax)
    }

    /// The value the request carries, if any (bounded: a cookie longer than 256 bytes
    /// was not set by Baton).
    public func value(in request: Request) -> String? {
        guard let value = request.cookies[rawValue]?.value, !value.isEmpty, value.utf8.count <= 256 else { return nil }
        return value
    }
}

import BatonCore
import Hummingbird

/// Double-submit CSRF protection for the forms of both hosts: a random value in a
/// `__Host-` cookie (which a sibling domain cannot set) must come back in the form's
/// hidden `csrf` field.
public enum CSRF {
    /// The form field that carries the token.
    public static let field = "csrf"

    /// The token for a form on this page, and the cookie to set when the browser has
    /// none yet.
    public static func token(for request: Request) -> (token: String, cookie: Cookie?) {
        if let existing = BatonCookie.csrf.value(in: request), existing.utf8.count >= 22, Base64URL.isAlphabet(existing) {
            return (existing, nil)
        }
        let fresh = Secrets.random(bytes: 24)
        return (fresh, BatonCookie.csrf.set(fresh, maxAge: 3600 * 12))
    }

    /// True when the form's token matches the cookie, compared in constant time.
    public static func isValid(_ request: Request, form: FormFields) -> Bool {
        guard let cookie = BatonCookie.csrf.value(in: request), let submitted = form.single(field) else { return false }
        return Secrets.constantTimeEquals(cookie, submitted)
    }
}

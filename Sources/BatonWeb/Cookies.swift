import Hummingbird

/// The `__Host-` cookies of PROTOCOL.md, always with HttpOnly, Secure, SameSite=Lax,
/// Path=/ and no Domain: the prefix makes the browser refuse any other form, so a
/// sibling subdomain cannot plant one.
public enum BatonCookie: String, Sendable {
    case login = "__Host-baton_login"
    case state = "__Host-baton_state"
    case session = "__Host-baton_session"
    /// Where the sign-in in `state` goes after: the state's MAC covers it.
    case returnTo = "__Host-baton_return"
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

    /// True when the request sends this cookie at all (even empty, even twice).
    public func isPresent(in request: Request) -> Bool {
        request.headers[values: .cookie].contains { header in
            Self.pairs(in: header).contains { $0.starts(with: namePrefix) }
        }
    }

    /// Longer values were not set by Baton: random ids are 43 characters, and a return
    /// path is at most 2048 bytes (base64url: 2731).
    var maximumLength: Int { self == .returnTo ? 4096 : 256 }

    /// The value the request carries, if any. None when it is empty, longer than
    /// ``maximumLength``, or sent more than once: Baton never sets such a cookie, and a `__Host-`
    /// cookie exists at most once per host, so a second copy is a forgery and which one
    /// to believe is not a question worth answering.
    public func value(in request: Request) -> String? {
        value(in: request.headers)
    }

    /// The value request headers `headers` carry, by the same rules.
    public func value(in headers: HTTPFields) -> String? {
        var found: ArraySlice<UInt8>?
        for header in headers[values: .cookie] {
            for pair in Self.pairs(in: header) where pair.starts(with: namePrefix) {
                guard found == nil else { return nil }
                found = pair.dropFirst(namePrefix.count)
            }
        }
        guard let found, !found.isEmpty, found.count <= maximumLength else { return nil }
        // Cut at ASCII bytes only, so still the UTF-8 the header was.
        return String(decoding: found, as: UTF8.self)
    }

    /// `name=`, as bytes.
    private var namePrefix: [UInt8] { Array(rawValue.utf8) + [UInt8(ascii: "=")] }

    /// The pairs of one Cookie header, byte for byte (RFC 6265 §5.4): split at `;`,
    /// leading spaces and tabs dropped. Never with `String`'s `Character` comparison,
    /// under which U+037E GREEK QUESTION MARK equals `;` (so `x=1\u{37E}__Host-…=v`, a
    /// cookie any sibling domain can set, would be read as a `__Host-` cookie) and a
    /// combining mark after `=` makes another character of it.
    static func pairs(in header: String) -> [ArraySlice<UInt8>] {
        Array(header.utf8).split(separator: UInt8(ascii: ";")).map { $0.drop { $0 == 0x20 || $0 == 0x09 } }
    }
}

/// Where Baton may send a browser: a registered `redirect_uri`, matched byte for
/// byte, or a local path. Nothing else ever reaches a `Location` header.
public enum Redirects {
    /// The path a `return_to` or `continue` parameter names, if it is a plain local
    /// path on this host; `nil` for anything a browser could read as another origin or
    /// that could split a header: `//x`, `/\x`, a scheme, a control character,
    /// encoded slashes or backslashes at the start, anything but printable ASCII.
    public static func localPath(_ raw: String?) -> String? {
        guard let raw, let first = raw.utf8.first, first == UInt8(ascii: "/"), raw.utf8.count <= 2048 else { return nil }
        // Printable ASCII only: no CR, LF, tab, NUL, space, DEL or non-ASCII that a
        // browser might normalise into something else.
        guard raw.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
        // Browsers treat `\` as `/` in URLs: `/\evil.example` is protocol-relative.
        guard !raw.utf8.contains(UInt8(ascii: "\\")) else { return nil }
        if raw.utf8.dropFirst().first == UInt8(ascii: "/") { return nil }
        // Nothing percent-encoded: decoding would give `raw` back, already checked.
        guard raw.utf8.contains(UInt8(ascii: "%")) else { return raw }
        // Decode once and check again, so `/%2F%2Fevil` or `/%5Cevil` cannot become an
        // authority after some proxy decodes it. Byte for byte: as `Character`s,
        // `/%2F%CC%81evil` decodes to `/` and `/` + U+0301, which is no `//`.
        let decoded = Array((raw.removingPercentEncoding ?? "").utf8)
        guard decoded.first == UInt8(ascii: "/"), decoded.count == 1 || decoded[1] != UInt8(ascii: "/"),
            !decoded.contains(UInt8(ascii: "\\")), decoded.allSatisfy({ $0 > 0x1f && $0 != 0x7f })
        else { return nil }
        return raw
    }

    /// The local path, or `/` when `raw` is not one.
    public static func localPathOrRoot(_ raw: String?) -> String {
        localPath(raw) ?? "/"
    }

    /// `state` as PROTOCOL.md allows it: 16 to 256 characters of `A-Za-z0-9-_`.
    public static func isValidState(_ state: String) -> Bool {
        (16...256).contains(state.utf8.count) && Base64URL.isAlphabet(state)
    }

    /// Appends `name=value` to a registered redirect URI, with `?` or `&` as needed.
    public static func appending(_ name: String, _ value: String, to uri: String) -> String {
        let separator = uri.contains("?") ? "&" : "?"
        return uri + separator + name + "=" + percentEncoded(value)
    }

    /// `value` with everything but RFC 3986's unreserved characters percent-encoded; a
    /// token (base64url and dots) comes back as it is, without a pass through Foundation.
    public static func percentEncoded(_ value: String) -> String {
        let unreserved = value.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                true
            default: false
            }
        }
        return unreserved ? value : (value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")
    }
}

import Foundation

extension CharacterSet {
    /// Unreserved characters (RFC 3986 §2.3): safe as a query value anywhere.
    public static let urlQueryValueAllowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

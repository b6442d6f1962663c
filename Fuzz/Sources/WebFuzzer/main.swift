// The web harness: any bytes as what a browser sends, through the query and form
// parser (`FormFields(encoded:)`), the cookie reader (`BatonCookie.value(in:)` and
// `isPresent(in:)`, over a Hummingbird Request whose Cookie headers are the input's
// lines) and `Redirects.localPath` (a `return_to` or `continue` value).
//
// Invariants:
// - FormFields yields exactly the pairs a byte-level reading of
//   application/x-www-form-urlencoded gives (`+` a space, `%XX` a byte, the result
//   UTF-8), and none for an undecodable pair; `single` is `all` with one value.
// - Each `__Host-` cookie's value is what RFC 6265's byte-level reading of the Cookie
//   headers gives (split at `;`, leading spaces and tabs dropped, name and `=` matched
//   byte for byte), and nothing when it is sent twice, empty or too long; a cookie with
//   a value is also one that `isPresent` sees.
// - A local path is returned unchanged, is printable ASCII, starts with one `/` and no
//   `\`, stays so once percent-decoded (byte for byte), and resolved against the host's
//   origin stays on it; a plain path of unreserved characters is always accepted.
import BatonCore
import BatonWeb
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(start, count), as: UTF8.self)
    checkFormFields(text)
    checkCookies(text)
    checkLocalPath(text)
    return 0
}

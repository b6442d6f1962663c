import BatonCore
import BatonWeb
import Foundation
import FuzzSupport
import HTTPTypes
import Hummingbird

func checkFormFields(_ text: String) {
    let fields = FormFields(encoded: Substring(text))
    let expected = Reference.formPairs(Array(text.utf8))
    let got = fields.pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }
    Fuzz.require(
        got.count == expected.count && zip(got, expected).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 },
        "FormFields read \(fields.pairs) where the bytes say \(expected.map { (Fuzz.show($0.0), Fuzz.show($0.1)) }): \(Fuzz.show(text.utf8))")
    for (name, _) in fields.pairs {
        let all = fields.all(name)
        Fuzz.require(fields.single(name) == (all.count == 1 ? all[0] : nil), "single disagrees with all for \(name)")
    }
}

func checkCookies(_ text: String) {
    let lines = text.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
    var fields = HTTPFields()
    for line in lines { fields.append(HTTPField(name: .cookie, value: String(line))) }
    let request = Request(
        head: HTTPRequest(method: .get, scheme: "https", authority: "rp.example", path: "/", headerFields: fields),
        body: RequestBody(buffer: ByteBuffer()))
    // What Baton reads: the header values as the request holds them.
    let headers = request.headers[values: .cookie].map { Array($0.utf8) }
    for cookie in [BatonCookie.login, .state, .session, .returnTo, .csrf] {
        let name = Array(cookie.rawValue.utf8)
        let limit = cookie == .returnTo ? 4096 : 256
        let expected = Reference.cookieValue(name, in: headers, limit: limit)
        let got = cookie.value(in: request)
        Fuzz.require(
            got.map { Array($0.utf8) } == expected,
            "\(cookie.rawValue): Baton reads \(got.map { Fuzz.show($0.utf8) } ?? "nothing"), the bytes say "
                + "\(expected.map { Fuzz.show($0) } ?? "nothing"), in \(headers.map { Fuzz.show($0) })")
        if got != nil {
            Fuzz.require(cookie.isPresent(in: request), "\(cookie.rawValue) has a value but is not present, in \(headers.map { Fuzz.show($0) })")
        }
        Fuzz.require(
            cookie.isPresent(in: request) == Reference.cookieIsPresent(name, in: headers),
            "\(cookie.rawValue): isPresent disagrees with the bytes, in \(headers.map { Fuzz.show($0) })")
    }
}

let origin = URL(string: "https://rp.example/")

func checkLocalPath(_ text: String) {
    let result = Redirects.localPath(text)
    Fuzz.require(Redirects.localPathOrRoot(text) == (result ?? "/"), "localPathOrRoot disagrees with localPath")
    let bytes = Array(text.utf8)
    guard let result else {
        // A plain path is never refused.
        let plain = bytes.count <= 2048 && bytes.first == UInt8(ascii: "/") && (bytes.count == 1 || bytes[1] != UInt8(ascii: "/"))
            && bytes.allSatisfy { Reference.isUnreserved($0) || $0 == UInt8(ascii: "/") }
        Fuzz.require(!plain, "a plain local path was refused: \(Fuzz.show(bytes))")
        return
    }
    Fuzz.require(result == text, "localPath changed its input")
    Fuzz.require(Reference.isLocal(bytes), "not a local path: \(Fuzz.show(bytes))")
    Fuzz.require(bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f }, "not printable ASCII: \(Fuzz.show(bytes))")
    let decoded = Reference.percentDecoded(bytes)
    Fuzz.require(Reference.isLocal(decoded), "once decoded, not a local path: \(Fuzz.show(decoded)) from \(Fuzz.show(bytes))")
    Fuzz.require(!decoded.contains { $0 < 0x20 || $0 == 0x7f }, "once decoded, a control character: \(Fuzz.show(decoded))")
    if let base = origin, let resolved = URL(string: result, relativeTo: base)?.absoluteURL {
        Fuzz.require(resolved.scheme == "https" && resolved.host == "rp.example", "\(result) leaves the origin: \(resolved)")
    }
}

/// Byte-level readings of the formats, written from their RFCs.
enum Reference {
    /// application/x-www-form-urlencoded: pairs split at `&` (empty ones skipped), name
    /// and value at the first `=`; a pair whose name or value does not decode is dropped.
    static func formPairs(_ bytes: [UInt8]) -> [([UInt8], [UInt8])] {
        bytes.split(separator: UInt8(ascii: "&")).compactMap { part in
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let name = formDecoded(part[part.startIndex..<(equals ?? part.endIndex)])
            let value = equals.map { formDecoded(part[($0 + 1)...]) } ?? []
            guard let name, let value else { return nil }
            return (name, value)
        }
    }

    static func formDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch bytes[index] {
            case UInt8(ascii: "+"):
                out.append(0x20)
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.endIndex,
                    let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 2
            default:
                out.append(bytes[index])
            }
            index += 1
        }
        return String(validating: out, as: UTF8.self) == nil ? nil : out
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }

    /// The pairs of the Cookie headers: split at `;`, leading SP and HTAB dropped.
    static func cookiePairs(_ headers: [[UInt8]]) -> [ArraySlice<UInt8>] {
        headers.flatMap { header in
            header.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).map { pair in
                pair.drop { $0 == 0x20 || $0 == 0x09 }
            }
        }
    }

    /// The value of cookie `name`: sent once, non-empty, at most `limit` bytes.
    static func cookieValue(_ name: [UInt8], in headers: [[UInt8]], limit: Int) -> [UInt8]? {
        let prefix = name + [UInt8(ascii: "=")]
        let values = cookiePairs(headers).filter { $0.starts(with: prefix) }.map { Array($0.dropFirst(prefix.count)) }
        guard values.count == 1, let value = values.first, !value.isEmpty, value.count <= limit else { return nil }
        return value
    }

    static func cookieIsPresent(_ name: [UInt8], in headers: [[UInt8]]) -> Bool {
        cookiePairs(headers).contains { $0.starts(with: name + [UInt8(ascii: "=")]) }
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Starts with one `/`, not `//` or `/\` (which browsers read as another host), and
    /// holds no `\` anywhere.
    static func isLocal(_ bytes: [UInt8]) -> Bool {
        guard bytes.first == UInt8(ascii: "/"), !bytes.contains(UInt8(ascii: "\\")) else { return false }
        return bytes.count == 1 || bytes[1] != UInt8(ascii: "/")
    }

    /// `%XX` decoded once, byte for byte; a `%` without two hex digits stays as it is.
    static func percentDecoded(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}

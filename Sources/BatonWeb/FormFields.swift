import Foundation
import Hummingbird

/// `application/x-www-form-urlencoded` fields, from a body or a query string, keeping
/// repeats: `token=A&token=B` must be seen as two tokens, not silently one.
public struct FormFields: Sendable {
    public let pairs: [(String, String)]

    /// Parses `a=b&c=d`; `+` is a space; undecodable pairs (a `%` not followed by two hex
    /// digits, or bytes that are not UTF-8) are dropped.
    public init(encoded: Substring) {
        var pairs: [(String, String)] = []
        for part in encoded.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let pieces = part.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            if let name = Self.decode(pieces[0]), let value = pieces.count > 1 ? Self.decode(pieces[1]) : "" {
                pairs.append((name, value))
            }
        }
        self.pairs = pairs
    }

    /// `+` as a space, then `%XX` as the byte it names; nil when a `%` is not followed
    /// by two hex digits or the bytes are not UTF-8.
    static func decode(_ encoded: Substring.UTF8View.SubSequence) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.count)
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let byte = encoded[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = encoded.index(after: index)
                guard high < encoded.endIndex, let h = hex(encoded[high]) else { return nil }
                let low = encoded.index(after: high)
                guard low < encoded.endIndex, let l = hex(encoded[low]) else { return nil }
                bytes.append(h << 4 | l)
                index = low
            default:
                bytes.append(byte)
            }
            index = encoded.index(after: index)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The query string of `request`.
    public init(query request: Request) {
        self.init(encoded: Substring(request.uri.query ?? ""))
    }

    /// The query string of request target `target` (`/path?query`): what follows the
    /// first `?`, none when there is none. The caller refuses a target with a fragment
    /// (`#`), which a request never carries.
    public init(queryOf target: String) {
        self.init(encoded: target.firstIndex(of: "?").map { target[target.index(after: $0)...] } ?? "")
    }

    /// The body of a form post, at most `limit` bytes (larger is 413).
    public static func body(of request: Request, limit: Int = 16 * 1024) async throws -> FormFields {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw HTTPError(.contentTooLarge)
        }
        return FormFields(encoded: Substring(String(buffer: buffer)))
    }

    /// Every value of `name`.
    public func all(_ name: String) -> [String] {
        pairs.filter { $0.0 == name }.map(\.1)
    }

    /// The value of `name` when it appears exactly once.
    public func single(_ name: String) -> String? {
        let values = all(name)
        return values.count == 1 ? values[0] : nil
    }
}

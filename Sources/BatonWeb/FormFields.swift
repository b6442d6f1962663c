import Foundation
import Hummingbird

/// `application/x-www-form-urlencoded` fields, from a body or a query string, keeping
/// repeats: `token=A&token=B` must be seen as two tokens, not silently one.
public struct FormFields: Sendable {
    public let pairs: [(String, String)]

    /// Parses `a=b&c=d`; `+` is a space; undecodable pairs are dropped.
    public init(encoded: Substring) {
        var pairs: [(String, String)] = []
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pieces[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            let value = (pieces.count > 1 ? String(pieces[1]) : "").replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            if let name, let value { pairs.append((name, value)) }
        }
        self.pairs = pairs
    }

    /// The query string of `request`.
    public init(query request: Request) {
        self.init(encoded: Substring(request.uri.query ?? ""))
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

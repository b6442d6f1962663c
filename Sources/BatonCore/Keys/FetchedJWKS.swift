import Foundation

/// A JWKS as a relying party fetched it, with how long the login host lets it be
/// cached (`Cache-Control: max-age`), if it said.
public struct FetchedJWKS: Sendable {
    public var document: JWKSDocument
    public var maxAge: TimeInterval?

    /// A fetched document.
    public init(document: JWKSDocument, maxAge: TimeInterval?) {
        self.document = document
        self.maxAge = maxAge
    }

    /// The max-age of a `Cache-Control` header: `no-store` and `no-cache` are 0; nil
    /// when the header says nothing about it.
    public static func maxAge(cacheControl: String?) -> TimeInterval? {
        guard let cacheControl else { return nil }
        var result: TimeInterval?
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            switch parts.first {
            case "no-store", "no-cache": return 0
            case "max-age":
                guard parts.count == 2, let seconds = Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))), seconds >= 0
                else { return 0 }
                result = TimeInterval(seconds)
            default: continue
            }
        }
        return result
    }
}

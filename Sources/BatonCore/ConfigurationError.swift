/// A configuration problem found at start-up: it names the field so the person
/// running Baton knows what to fix.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let field: String
    public let message: String

    /// An error about `field`.
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "configuration error in `\(field)`: \(message)" }
}

import BatonCore
import Foundation

/// `baton clients add`: registers a relying party with a generated secret. The login
/// host needs only the secret's SHA-256 (`client_secret_sha256`); the relying party
/// needs the secret itself. Nothing is written: the two snippets are printed for the
/// operator to put in the two configuration files, and the secret is shown only then.
public enum ClientRegistration {
    /// A registration: the secret and the two snippets.
    public struct NewClient: Sendable {
        public var clientID: String
        /// 256 random bits, base64url (43 characters).
        public var secret: String
        /// The login host's `clients[]` entry, a JSON object.
        public var loginHostEntry: String
        /// The relying party's `client_id` and `client_secret` members, to paste into
        /// its configuration object.
        public var relyingPartyMembers: String

        /// What the command prints.
        public var text: String {
            """
            Add to the login host's "clients" list:
            \(loginHostEntry)

            Add to the relying party's configuration:
            \(relyingPartyMembers)

            The secret is shown only now: the login host keeps only its SHA-256.
            """
        }
    }

    /// A new registration for `clientID`, checked as the configuration readers will
    /// check it.
    public static func add(clientID: String, redirectURI: String, backChannelLogoutURI: String? = nil) throws -> NewClient {
        guard !clientID.isEmpty, clientID.utf8.count <= 64,
            clientID.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) })
        else {
            throw ConfigurationError(field: "client_id", message: "must be 1 to 64 characters of A-Za-z0-9._-")
        }
        try ConfigReader.checkAbsoluteURL(redirectURI, field: "redirect_uri")
        if let backChannelLogoutURI { try ConfigReader.checkAbsoluteURL(backChannelLogoutURI, field: "backchannel_logout_uri") }
        let secret = Secrets.random(bytes: 32)
        var entry: [(String, Any)] = [
            ("client_id", clientID), ("redirect_uris", [redirectURI]), ("client_secret_sha256", Secrets.hash(secret)),
        ]
        if let backChannelLogoutURI { entry.append(("backchannel_logout_uri", backChannelLogoutURI)) }
        let members = entry.map { name, value in "  \(json(name)): \(json(value))" }
        return NewClient(
            clientID: clientID, secret: secret, loginHostEntry: "{\n" + members.joined(separator: ",\n") + "\n}",
            relyingPartyMembers: "\(json("client_id")): \(json(clientID)),\n\(json("client_secret")): \(json(secret)),")
    }

    /// A hand-written `client_secret`, at least ``ClientRegistry/minimumSecretLength``
    /// characters, for either configuration file.
    static func readSecret(_ reader: inout ConfigReader) throws -> String {
        let secret = try reader.string("client_secret")
        guard secret.count >= ClientRegistry.minimumSecretLength else {
            throw ConfigurationError(
                field: reader.name("client_secret"),
                message: "must be at least \(ClientRegistry.minimumSecretLength) characters (`baton clients add` generates one)")
        }
        return secret
    }

    private static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

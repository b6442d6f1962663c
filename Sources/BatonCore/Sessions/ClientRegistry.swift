/// What decides whether a `/handoff` request may proceed. ``ClientRegistry`` is the
/// one Baton ships; the seam exists so tests can prove the attack suite catches a
/// weaker one.
public protocol HandoffRequestValidating: Sendable {
    func validateHandoff(clientID: String?, redirectURI: String?, state: String?) throws(ClientRegistry.HandoffRequestError)
        -> ClientRegistry.Client
}

/// The relying parties a login host knows, each with its exact `redirect_uri`s and
/// the hash of its back-channel secret.
public struct ClientRegistry: HandoffRequestValidating {
    /// One registered relying party.
    public struct Client: Sendable, Equatable {
        public var clientID: String
        public var redirectURIs: [String]
        /// SHA-256 of the client secret, base64url.
        public var secretHash: String
        /// Where the login host POSTs back-channel logout tokens; nil: the client gets
        /// none and relies on revalidation alone.
        public var backChannelLogoutURI: String?

        /// A registered client.
        public init(clientID: String, redirectURIs: [String], secretHash: String, backChannelLogoutURI: String? = nil) {
            self.clientID = clientID
            self.redirectURIs = redirectURIs
            self.secretHash = secretHash
            self.backChannelLogoutURI = backChannelLogoutURI
        }
    }

    /// Why a `/handoff` request was refused: always a 400 page, never a redirect.
    public enum HandoffRequestError: Error, Equatable, Sendable {
        case unknownClient
        case unregisteredRedirectURI
        case invalidState
        case duplicateParameter

        /// What the 400 page says.
        public var explanation: String {
            switch self {
            case .unknownClient: "The site that sent you here is not registered with this login service."
            case .unregisteredRedirectURI: "The return address is not one registered for that site, so you were not sent anywhere."
            case .invalidState: "The sign-in request is missing its state or the state is malformed."
            case .duplicateParameter: "The sign-in request repeats a parameter."
            }
        }
    }

    public let clients: [String: Client]

    /// The shortest hand-written client secret a configuration accepts. A person
    /// choosing a secret picks far fewer bits per character than a generator does:
    /// 32 characters keep even a letters-and-digits secret well beyond guessing over the
    /// back channel. `baton clients add` generates 256 random bits (43 characters).
    public static let minimumSecretLength = 32

    /// A registry of `clients`.
    public init(_ clients: [Client]) {
        self.clients = Dictionary(clients.map { ($0.clientID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Checks a handoff request's parameters, in PROTOCOL.md's order, before anything
    /// else happens on `/handoff`.
    public func validateHandoff(clientID: String?, redirectURI: String?, state: String?) throws(HandoffRequestError) -> Client {
        guard let clientID, let client = clients[clientID] else { throw .unknownClient }
        // Byte-for-byte: no normalisation, no prefix match, no trailing-slash leniency.
        guard let redirectURI, client.redirectURIs.contains(where: { Array($0.utf8) == Array(redirectURI.utf8) }) else {
            throw .unregisteredRedirectURI
        }
        guard let state, Redirects.isValidState(state) else { throw .invalidState }
        return client
    }

    /// The client whose back-channel credentials these are, compared in constant time.
    public func authenticate(clientID: String, secret: String) -> Client? {
        // Hash first so the comparison's length never depends on the guess.
        let presented = Secrets.hash(secret)
        guard let client = clients[clientID] else {
            _ = Secrets.constantTimeEquals(presented, presented)
            return nil
        }
        return Secrets.constantTimeEquals(presented, client.secretHash) ? client : nil
    }
}

/// Client ids only, whoever describes a registry (a log line, a dump of a host): the
/// secret hashes stay out of every log.
extension ClientRegistry: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "ClientRegistry(\(clients.keys.sorted().joined(separator: ", ")); secrets hidden)" }
    public var debugDescription: String { description }
}

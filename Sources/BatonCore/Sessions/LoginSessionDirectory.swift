import Foundation

/// What the login host says about a session over the back channel
/// (`GET /api/sessions/{sid}`). Field names are the JSON members of PROTOCOL.md.
public struct SessionInfo: Sendable, Equatable, Codable {
    public var sid: String
    public var sub: String
    public var username: String
    public var display_name: String
    /// Empty when unknown.
    public var email: String
    public var groups: [String]
    public var auth_time: Int64
    public var expires_at: Int64

    public init(
        sid: String, sub: String, username: String, display_name: String, email: String = "", groups: [String] = [],
        auth_time: Int64, expires_at: Int64
    ) {
        self.sid = sid
        self.sub = sub
        self.username = username
        self.display_name = display_name
        self.email = email
        self.groups = groups
        self.auth_time = auth_time
        self.expires_at = expires_at
    }

    /// A login host from before email and groups existed sends neither: both are then unknown.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sid = try container.decode(String.self, forKey: .sid)
        sub = try container.decode(String.self, forKey: .sub)
        username = try container.decode(String.self, forKey: .username)
        display_name = try container.decode(String.self, forKey: .display_name)
        email = try container.decodeIfPresent(String.self, forKey: .email) ?? ""
        groups = try container.decodeIfPresent([String].self, forKey: .groups) ?? []
        auth_time = try container.decode(Int64.self, forKey: .auth_time)
        expires_at = try container.decode(Int64.self, forKey: .expires_at)
    }

    /// The person, as a relying party keeps them: an email that is not one Baton would
    /// accept is unknown, and invalid group names are dropped.
    public var identity: Identity {
        Identity(
            subject: sub, username: username, displayName: display_name, email: EmailAddress.isValid(email) ? email : "",
            groups: groups)
    }
}

/// The relying party's view of the login host's sessions: the back channel.
public protocol LoginSessionDirectory: Sendable {
    /// The live session `sid`; throws `session_ended` when the login host says it is
    /// gone and `store_unavailable` when the login host cannot be asked.
    func lookUp(sid: String) async throws(BatonError) -> SessionInfo
}

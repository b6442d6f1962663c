import Foundation

/// What the login host says about a session over the back channel
/// (`GET /api/sessions/{sid}`).
public struct SessionInfo: Sendable, Equatable, Codable {
    public var sid: String
    public var sub: String
    public var username: String
    public var display_name: String
    public var auth_time: Int64
    public var expires_at: Int64

    /// A session description.
    public init(sid: String, sub: String, username: String, display_name: String, auth_time: Int64, expires_at: Int64) {
        self.sid = sid
        self.sub = sub
        self.username = username
        self.display_name = display_name
        self.auth_time = auth_time
        self.expires_at = expires_at
    }
}

/// The relying party's view of the login host's sessions: the back channel.
public protocol LoginSessionDirectory: Sendable {
    /// The live session `sid`; throws `session_ended` when the login host says it is
    /// gone and `store_unavailable` when the login host cannot be asked.
    func lookUp(sid: String) async throws(BatonError) -> SessionInfo
}

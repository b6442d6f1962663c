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

    /// The back channel's answer, members in sorted order: what JSONEncoder with
    /// `.sortedKeys` wrote, without a general encoder on every lookup.
    public func json() -> [UInt8] {
        var text = JSONText()
        text.integer("auth_time", auth_time)
        text.string("display_name", display_name)
        text.string("email", email)
        text.integer("expires_at", expires_at)
        text.strings("groups", groups)
        text.string("sid", sid)
        text.string("sub", sub)
        text.string("username", username)
        return text.close()
    }

    /// Reads the back channel's answer strictly (StrictJSON: no duplicate member, no
    /// trailing data, whole seconds only); members it does not know are ignored, and a
    /// login host from before email and groups existed sends neither.
    public init(json bytes: [UInt8]) throws(StrictJSON.Failure) {
        var members: [String: JSONValue] = [:]
        for (name, value) in try StrictJSON.parseObject(bytes) { members[name] = value }
        func string(_ name: String) throws(StrictJSON.Failure) -> String {
            guard let value = members[name]?.stringValue else { throw StrictJSON.Failure() }
            return value
        }
        func integer(_ name: String) throws(StrictJSON.Failure) -> Int64 {
            guard let value = members[name]?.integerValue else { throw StrictJSON.Failure() }
            return value
        }
        var groups: [String] = []
        switch members["groups"] {
        case nil, .null?: break
        case .array(let values)?:
            for value in values {
                guard let group = value.stringValue else { throw StrictJSON.Failure() }
                groups.append(group)
            }
        default: throw StrictJSON.Failure()
        }
        let email: String
        switch members["email"] {
        case nil, .null?: email = ""
        case .string(let value)?: email = value
        default: throw StrictJSON.Failure()
        }
        self.init(
            sid: try string("sid"), sub: try string("sub"), username: try string("username"),
            display_name: try string("display_name"), email: email, groups: groups, auth_time: try integer("auth_time"),
            expires_at: try integer("expires_at"))
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

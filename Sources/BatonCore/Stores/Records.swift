import Foundation

/// A person who can sign in on the login host.
public struct User: Sendable, Equatable {
    /// The stable subject id (`sub`), never the username.
    public var id: String
    public var username: String
    public var displayName: String
    /// Empty when unknown; relying parties receive it over the back channel.
    public var email: String
    /// Valid group names (``GroupName``), in the order they were given.
    public var groups: [String]
    /// A bcrypt hash; the password itself is never stored.
    public var passwordHash: String
    public var createdAt: Date

    public init(
        id: String, username: String, displayName: String, email: String = "", groups: [String] = [], passwordHash: String,
        createdAt: Date
    ) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.email = email
        self.groups = groups
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}

/// A session on the login host. The cookie carries a secret whose hash is
/// ``secretHash``; ``sid`` is a separate public handle that travels in tokens and
/// cannot act on the login host by itself.
public struct LoginSession: Sendable, Equatable {
    public var sid: String
    public var secretHash: String
    public var userID: String
    public var authTime: Date
    public var lastSeen: Date
    public var expiresAt: Date
    public var userAgent: String

    public init(sid: String, secretHash: String, userID: String, authTime: Date, lastSeen: Date, expiresAt: Date, userAgent: String) {
        self.sid = sid
        self.secretHash = secretHash
        self.userID = userID
        self.authTime = authTime
        self.lastSeen = lastSeen
        self.expiresAt = expiresAt
        self.userAgent = userAgent
    }
}

/// A session on a relying party, created by redeeming one handoff token.
public struct RPSession: Sendable, Equatable {
    /// SHA-256 of the cookie's secret: the store never holds the secret.
    public var idHash: String
    public var clientID: String
    /// The login session it came from, for back-channel logout and revalidation.
    public var loginSID: String
    /// The jti whose redemption created it: a reload of the same callback in the same
    /// browser continues instead of failing (PROTOCOL.md step 3).
    public var createdByJTI: String
    public var returnTo: String
    /// Who it belongs to, as the login host last described them (at redemption, then
    /// at every revalidation).
    public var identity: Identity
    public var createdAt: Date
    public var expiresAt: Date
    /// The hops of the handoff that created it, for the dashboard's timeline.
    public var timeline: HandoffTimeline
    /// The last request that used it: idle expiry slides from here.
    public var lastSeen: Date
    /// The last time the login host confirmed the login session still lives.
    public var lastValidated: Date

    /// `lastSeen` and `lastValidated` default to `createdAt`.
    public init(
        idHash: String, clientID: String, loginSID: String, createdByJTI: String, returnTo: String,
        identity: Identity, createdAt: Date, expiresAt: Date,
        timeline: HandoffTimeline, lastSeen: Date? = nil, lastValidated: Date? = nil
    ) {
        self.idHash = idHash
        self.clientID = clientID
        self.loginSID = loginSID
        self.createdByJTI = createdByJTI
        self.returnTo = returnTo
        self.identity = identity
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.timeline = timeline
        self.lastSeen = lastSeen ?? createdAt
        self.lastValidated = lastValidated ?? createdAt
    }
}

extension RPSession {
    public var subject: String { identity.subject }
    public var username: String { identity.username }
    public var displayName: String { identity.displayName }
    public var email: String { identity.email }
    public var groups: [String] { identity.groups }
}

/// Who a session belongs to: what the login host says over the back channel, and all
/// a relying party ever learns about the person.
public struct Identity: Sendable, Equatable {
    /// The stable subject id (`sub`).
    public var subject: String
    public var username: String
    public var displayName: String
    /// Empty when unknown.
    public var email: String
    /// Valid group names only: anything else the login host sent is dropped, so that a
    /// name can never smuggle a comma into `Baton-Groups`.
    public var groups: [String]

    public init(subject: String, username: String, displayName: String, email: String = "", groups: [String] = []) {
        self.subject = subject
        self.username = username
        self.displayName = displayName
        self.email = email
        self.groups = groups.filter(GroupName.isValid)
    }
}

/// Milliseconds of each hop of one handoff, measured on the relying party.
public struct HandoffTimeline: Sendable, Equatable, Codable {
    /// When `/sso/start` ran, in milliseconds since 1970.
    public var startedAtMs: Int64
    /// When the callback arrived.
    public var callbackAtMs: Int64
    /// The token's `iat` and `exp`, in seconds.
    public var iat: Int64
    public var exp: Int64
    /// A prefix of the burned jti: enough to recognise it, useless to replay.
    public var jtiPrefix: String
    public var verifyMs: Double
    public var burnMs: Double
    public var backChannelMs: Double
    public var finishedAtMs: Int64

    public init(
        startedAtMs: Int64, callbackAtMs: Int64, iat: Int64, exp: Int64, jtiPrefix: String,
        verifyMs: Double, burnMs: Double, backChannelMs: Double, finishedAtMs: Int64
    ) {
        self.startedAtMs = startedAtMs
        self.callbackAtMs = callbackAtMs
        self.iat = iat
        self.exp = exp
        self.jtiPrefix = jtiPrefix
        self.verifyMs = verifyMs
        self.burnMs = burnMs
        self.backChannelMs = backChannelMs
        self.finishedAtMs = finishedAtMs
    }

    /// The stored form: the members JSONEncoder writes for this type, without one.
    public var json: String {
        var text = JSONText()
        text.integer("startedAtMs", startedAtMs)
        text.integer("callbackAtMs", callbackAtMs)
        text.integer("iat", iat)
        text.integer("exp", exp)
        text.string("jtiPrefix", jtiPrefix)
        text.number("verifyMs", verifyMs)
        text.number("burnMs", burnMs)
        text.number("backChannelMs", backChannelMs)
        text.integer("finishedAtMs", finishedAtMs)
        return String(decoding: text.close(), as: UTF8.self)
    }

    /// The stored form read back (what ``json`` or JSONEncoder wrote; members it does not
    /// know are ignored, as JSONDecoder ignores them), or nil when a member is missing or
    /// is not of its type. Read on every `/sso/auth`, so without Foundation's decoder.
    public init?(json: String) {
        guard let members = try? StrictJSON.parseObject(Array(json.utf8)) else { return nil }
        var values: [String: JSONValue] = [:]
        for (name, value) in members { values[name] = value }
        func integer(_ name: String) -> Int64? { values[name]?.integerValue }
        func number(_ name: String) -> Double? {
            guard case .number(let text)? = values[name], let value = Double(text), value.isFinite else { return nil }
            return value
        }
        guard let startedAtMs = integer("startedAtMs"), let callbackAtMs = integer("callbackAtMs"),
            let iat = integer("iat"), let exp = integer("exp"), let jtiPrefix = values["jtiPrefix"]?.stringValue,
            let verifyMs = number("verifyMs"), let burnMs = number("burnMs"), let backChannelMs = number("backChannelMs"),
            let finishedAtMs = integer("finishedAtMs")
        else { return nil }
        self.init(
            startedAtMs: startedAtMs, callbackAtMs: callbackAtMs, iat: iat, exp: exp, jtiPrefix: jtiPrefix,
            verifyMs: verifyMs, burnMs: burnMs, backChannelMs: backChannelMs, finishedAtMs: finishedAtMs)
    }
}

/// What burning a jti found.
public enum BurnOutcome: Sendable, Equatable {
    /// This call burned it: the first and only redemption.
    case burned
    /// It was burned before: a replay, or a reload.
    case alreadyUsed
}

/// A back-channel logout message the login host still owes a relying party. It lives
/// in the store so that it survives a restart, and is retried with capped
/// exponential backoff until acknowledged or pointless.
public struct LogoutDelivery: Sendable, Equatable {
    public var id: Int64
    public var sid: String
    public var clientID: String
    public var createdAt: Date
    public var nextAttemptAt: Date
    public var attempts: Int
    /// After this the relying party's sessions have expired anyway: stop trying.
    public var deadline: Date
    public var lastError: String?

    public init(
        id: Int64, sid: String, clientID: String, createdAt: Date, nextAttemptAt: Date, attempts: Int, deadline: Date,
        lastError: String?
    ) {
        self.id = id
        self.sid = sid
        self.clientID = clientID
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.attempts = attempts
        self.deadline = deadline
        self.lastError = lastError
    }
}

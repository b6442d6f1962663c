import BatonCore
import Foundation

/// Records with sensible defaults, for the store tests.
enum Records {
    static func user(_ id: String, _ username: String) -> User {
        User(id: id, username: username, displayName: "Display \(username)", passwordHash: "$2b$04$hash-of-\(username)", createdAt: at(0))
    }

    static func loginSession(sid: String, userID: String, secretHash: String, expiresAt: Date = at(3600)) -> LoginSession {
        LoginSession(sid: sid, secretHash: secretHash, userID: userID, authTime: at(0), lastSeen: at(0), expiresAt: expiresAt, userAgent: "test-agent")
    }

    static func rpSession(
        _ idHash: String, loginSID: String = "sid-1", clientID: String = "dashboard", subject: String = "user-1", expiresAt: Date = at(3600)
    ) -> RPSession {
        RPSession(
            idHash: idHash, clientID: clientID, loginSID: loginSID, createdByJTI: "jti-\(idHash)", returnTo: "/reports?x=1",
            identity: Identity(subject: subject, username: "alice", displayName: "Alice", email: "alice@example.com", groups: ["staff"]),
            createdAt: at(0), expiresAt: expiresAt,
            timeline: HandoffTimeline(
                startedAtMs: 1_750_000_000_000, callbackAtMs: 1_750_000_001_000, iat: 1_750_000_000, exp: 1_750_000_010,
                jtiPrefix: "abcdefgh", verifyMs: 0.5, burnMs: 1.25, backChannelMs: 3, finishedAtMs: 1_750_000_001_010))
    }
}

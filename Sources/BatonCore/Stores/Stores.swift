import Foundation

/// The store failed (I/O, lock timeout, corruption). Callers turn it into
/// `store_unavailable`, never into a success.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// A store failure with a message fit for logs (no secrets in it).
    public init(_ description: String) { self.description = description }
}

/// People who can sign in.
public protocol UserStore: Sendable {
    /// Adds a user; fails when the username is taken.
    func insertUser(_ user: User) async throws
    func user(username: String) async throws -> User?
    func user(id: String) async throws -> User?
    /// Replaces the password hash of an existing user; false when there is none.
    func updatePasswordHash(username: String, passwordHash: String) async throws -> Bool
}

/// Sessions on the login host, keyed by the hash of their cookie secret.
public protocol LoginSessionStore: Sendable {
    func insertLoginSession(_ session: LoginSession) async throws
    func loginSession(secretHash: String) async throws -> LoginSession?
    func loginSession(sid: String) async throws -> LoginSession?
    func touchLoginSession(sid: String, at: Date) async throws
    /// Ends the session and, in the same transaction, queues a back-channel logout
    /// for every client that looked it up (due at `now`, given up at the session's
    /// absolute expiry, when the clients' sessions end anyway). Returns those clients;
    /// nil when there was no session to end.
    @discardableResult func endLoginSession(sid: String, queueLogoutAt now: Date) async throws -> [String]?
    /// Every session of `userID`, newest first.
    func loginSessions(userID: String) async throws -> [LoginSession]
    /// Sessions idle since before `idleBefore` or past their absolute expiry at `now`.
    func staleLoginSessions(now: Date, idleBefore: Date) async throws -> [String]
    /// Remembers that `clientID` looked the session up over the back channel, so that
    /// logout can reach it.
    func recordLookup(sid: String, clientID: String, at: Date) async throws
    func lookups(sid: String) async throws -> [String]
}

/// Back-channel logout messages still owed to relying parties.
public protocol LogoutDeliveryStore: Sendable {
    /// Deliveries due at `now`, oldest first.
    func dueLogoutDeliveries(now: Date, limit: Int) async throws -> [LogoutDelivery]
    /// Every pending delivery.
    func pendingLogoutDeliveries() async throws -> [LogoutDelivery]
    /// Records a failed attempt and when to try again.
    func rescheduleLogoutDelivery(id: Int64, attempts: Int, nextAttemptAt: Date, lastError: String) async throws
    /// Removes a delivery: acknowledged, or given up.
    func removeLogoutDelivery(id: Int64) async throws
}

/// The used-token store: the heart of single use.
public protocol UsedTokenStore: Sendable {
    /// Atomically records (`issuer`, `jti`) until `until`. Exactly one of any number
    /// of concurrent calls with the same pair gets `.burned`. The row is durable
    /// before this returns.
    func burn(issuer: String, jti: String, until: Date) async throws -> BurnOutcome
    /// Removes rows whose `until` has passed; returns how many.
    @discardableResult func pruneUsedTokens(before: Date) async throws -> Int
}

/// Sign-ins a relying party has started and not finished.
public protocol PendingSignInStore: Sendable {
    func insertPendingSignIn(_ pending: PendingSignIn) async throws
    /// Removes and returns the pending sign-in, if it exists and has not expired.
    func takePendingSignIn(stateHash: String, now: Date) async throws -> PendingSignIn?
}

/// Sessions on a relying party, keyed by the hash of their cookie secret.
public protocol RPSessionStore: Sendable {
    func insertRPSession(_ session: RPSession) async throws
    func rpSession(idHash: String) async throws -> RPSession?
    @discardableResult func deleteRPSession(idHash: String) async throws -> Bool
    /// Ends every session of `clientID` that came from login session `loginSID`.
    @discardableResult func deleteRPSessions(loginSID: String, clientID: String) async throws -> Int
    /// Records a request on the session and, when given, a successful revalidation.
    func touchRPSession(idHash: String, lastSeen: Date, lastValidated: Date?) async throws
}

/// Everything the login host keeps.
public typealias LoginHostStore = UserStore & LoginSessionStore & LogoutDeliveryStore

/// Everything a relying party keeps.
public typealias RelyingPartyStore = UsedTokenStore & PendingSignInStore & RPSessionStore

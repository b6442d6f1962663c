import BatonCore
import Foundation
import PostgresNIO

/// The sign-in throttle's counts in PostgreSQL, shared by every replica of a login
/// host: one limit however a load balancer spreads the attempts, where ``LoginThrottle``
/// would give each process its own. The same rules as ``LoginThrottle`` (see there).
///
/// `reserve` is atomic per key: it holds transaction-scoped advisory locks on the
/// pair's and the address's keys while it counts recent failures plus reservations in
/// flight and adds its own, so that of any number of concurrent attempts, on any
/// replicas, at most the limit get a password check. A reservation in flight counts for
/// ``reservationLease`` at most, so a replica that dies mid-check cannot hold a key.
/// Rows live in UNLOGGED tables (a server crash forgets the counts, nothing else) and
/// go with ``PostgresStore/prune(now:idleTimeouts:)`` once they no longer count.
public struct PostgresSignInThrottle: SignInThrottling {
    /// How long a reservation counts unless settled: far longer than a password check.
    public static let reservationLease: TimeInterval = 60

    public let limits: LoginThrottle.Limits
    let store: PostgresStore
    let clock: any BatonClock

    /// A throttle counting in `store`; times come from `clock`.
    public init(store: PostgresStore, limits: LoginThrottle.Limits = .init(), clock: any BatonClock = SystemClock()) {
        self.store = store
        self.limits = limits
        self.clock = clock
    }

    public func reserve(username: String, address: String) async throws -> LoginThrottle.Reservation? {
        let now = clock.now().timeIntervalSince1970
        let keys = LoginThrottle.keys(username: username, address: address)
        let windowStart = now - limits.window
        let limits = limits
        let id = Secrets.random(bytes: 12)
        let locked = [keys.pair, keys.address].sorted()
        let granted = try await store.transaction("reserve a sign-in attempt") { db -> (Bool, Int) in
            // Always in the same order, so that two reservations sharing a key never deadlock.
            try await db.execute(
                """
                SELECT pg_advisory_xact_lock(\(LockClass.signInKey), hashtext(\(locked[0]))),
                    pg_advisory_xact_lock(\(LockClass.signInKey), hashtext(\(locked[1])))
                """)
            // A new statement, so its snapshot sees every reservation committed before the locks were ours.
            let answer = try await db.rows(
                """
                WITH load AS (
                    SELECT
                        (SELECT count(*) FROM sign_in_failures WHERE key = \(keys.pair) AND failed_at > \(windowStart))
                        + (SELECT count(*) FROM sign_in_reservations WHERE key = \(keys.pair) AND expires_at > \(now)) AS pair,
                        (SELECT count(*) FROM sign_in_failures WHERE key = \(keys.address) AND failed_at > \(windowStart))
                        + (SELECT count(*) FROM sign_in_reservations WHERE key = \(keys.address) AND expires_at > \(now)) AS address,
                        (SELECT count(*) FROM sign_in_failures WHERE key = \(keys.account) AND failed_at > \(windowStart)) AS account
                ), granted AS (
                    INSERT INTO sign_in_reservations (id, key, expires_at)
                    SELECT \(id), k, \(now + Self.reservationLease)
                    FROM load, unnest(\([keys.pair, keys.address])::text[]) AS k
                    WHERE load.pair < \(limits.perAccountAndAddress) AND load.address < \(limits.perAddress)
                    RETURNING 1
                )
                SELECT (SELECT count(*) FROM granted)::bigint, account::bigint FROM load
                """
            ) { try $0.decode((Int, Int).self) }
            guard let (inserted, accountFailures) = answer.first else { return (false, 0) }
            return (inserted > 0, accountFailures)
        }
        guard granted.0 else { return nil }
        let delay = granted.1 >= limits.perAccountBeforeDelay ? limits.accountDelay : .zero
        return LoginThrottle.Reservation(pair: keys.pair, address: keys.address, account: keys.account, delay: delay, id: id)
    }

    public func settle(_ reservation: LoginThrottle.Reservation, as settlement: LoginThrottle.Settlement) async throws {
        let now = clock.now().timeIntervalSince1970
        // Each one statement: the reservation leaves as its failure (if any) arrives, so
        // a concurrent reserve counts the attempt once, either way.
        switch settlement {
        case .uncounted:
            try await store.execute("DELETE FROM sign_in_reservations WHERE id = \(reservation.id)", "settle a sign-in attempt")
        case .succeeded:
            try await store.execute(
                """
                WITH released AS (DELETE FROM sign_in_reservations WHERE id = \(reservation.id))
                DELETE FROM sign_in_failures WHERE key = \(reservation.pair)
                """, "settle a sign-in attempt")
        case .failed:
            try await store.execute(
                """
                WITH released AS (DELETE FROM sign_in_reservations WHERE id = \(reservation.id))
                INSERT INTO sign_in_failures (key, failed_at, keep_until)
                SELECT k, \(now), \(now + limits.window)
                FROM unnest(\([reservation.pair, reservation.address, reservation.account])::text[]) AS k
                """, "settle a sign-in attempt")
        }
    }

    public func recordFailure(username: String, address: String) async throws {
        guard let reservation = try await reserve(username: username, address: address) else { return }
        try await settle(reservation, as: .failed)
    }
}

extension PostgresStore {
    /// The sign-in throttle counting in this store, shared with every replica.
    public func signInThrottle(limits: LoginThrottle.Limits = .init(), clock: any BatonClock = SystemClock()) -> PostgresSignInThrottle {
        PostgresSignInThrottle(store: self, limits: limits, clock: clock)
    }
}

extension PostgresStore: Pruning, RowCounting {}

extension PostgresStore: StoreLifecycle {
    /// Replicas of one login host count sign-in failures together: one limit, not one each.
    public func sharedSignInThrottle(limits: LoginThrottle.Limits, clock: any BatonClock) -> (any SignInThrottling)? {
        signInThrottle(limits: limits, clock: clock)
    }
}

import BatonCore
import BatonPostgres
import BatonSQLite
import Logging

/// Opens the store a `database` setting names, for every host and CLI command: the one
/// place that knows the engines. What it returns serves a login host, relying parties,
/// or both at once (one database may hold them all, relying-party rows keyed by
/// `client_id`).
public enum StoreFactory {
    /// `database_pool_size` when the file does not say.
    public static let defaultPoolSize = 8
    /// `database_pool_size`'s bounds.
    public static let poolSizes = 1...100

    /// The store at `location`, migrated, with at most `poolSize` connections in this
    /// process (SQLite: reading connections, beside its one writer).
    public static func open(_ location: StoreLocation, poolSize: Int = defaultPoolSize, logger: Logger) async throws -> any BatonStore {
        switch location {
        case .sqlite(let path):
            return try SQLiteStore(path: path, readers: poolSize)
        case .postgres(let postgres):
            return try await openPostgres(postgres, poolSize: poolSize, logger: logger)
        }
    }

    /// PostgreSQL: a server that cannot be reached, refuses the password or has no such
    /// database stops start-up with a message naming `database` (never the password).
    static func openPostgres(_ location: PostgresLocation, poolSize: Int, logger: Logger) async throws -> any BatonStore {
        do {
            return try await PostgresStore.open(PostgresEndpoint(location), poolSize: poolSize, logger: logger)
        } catch let error as StoreError {
            throw ConfigurationError(field: "database", message: "\(error.description) (\(location))")
        }
    }
}

extension SQLiteStore: StoreLifecycle {
    /// One file, one process: the throttle lives in memory.
    public func sharedSignInThrottle(limits: LoginThrottle.Limits, clock: any BatonClock) -> (any SignInThrottling)? { nil }
    public func shutdown() async {}
}

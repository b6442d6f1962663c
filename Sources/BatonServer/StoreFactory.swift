import BatonCore
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

    // MARK: - PostgreSQL: wired when BatonPostgres is merged

    /// **The one function to wire to BatonPostgres**: replace the body with
    /// `try await PostgresStore.open(location: location, poolSize: poolSize, logger: logger)`
    /// (and add `BatonPostgres` to this target's dependencies). Until then a PostgreSQL
    /// URL stops start-up with an error naming `database`, and never becomes a path.
    static func openPostgres(_ location: PostgresLocation, poolSize: Int, logger: Logger) async throws -> any BatonStore {
        throw ConfigurationError(field: "database", message: "PostgreSQL support is not in this build (\(location))")
    }
}

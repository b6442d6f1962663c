import BatonCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Every Baton store in one PostgreSQL database, shared by any number of replicas of
/// any number of hosts (PROTOCOL.md, "Storage and replicas").
///
/// ```swift
/// let store = try await PostgresStore.open(try PostgresEndpoint(url: setting), poolSize: 8, logger: logger)
/// defer { Task { await store.shutdown() } }
/// ```
///
/// The store owns a `PostgresClient` (a pool of at most `poolSize` connections) and the
/// task that runs it; ``shutdown()`` ends both. Every operation answers within
/// `queryTimeout` (3 s by default): with its result, or with a ``StoreError`` when
/// PostgreSQL cannot be reached or does not answer, which the hosts turn into 503. The
/// pool reconnects by itself when PostgreSQL is back. Times are stored as `double
/// precision` seconds since 1970, as SQLite stores them, so fractions survive.
public final class PostgresStore: Sendable {
    public let location: PostgresEndpoint
    let client: PostgresClient
    let logger: Logger
    let queryTimeout: Duration
    private let runner: Task<Void, Never>

    private init(location: PostgresEndpoint, client: PostgresClient, logger: Logger, queryTimeout: Duration) {
        self.location = location
        self.client = client
        self.logger = logger
        self.queryTimeout = queryTimeout
        // PostgresClient leases nothing until run() runs; cancelling it closes the pool.
        self.runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Connects to `location`, migrates its schema (exactly once however many processes
    /// start together) and starts a pool of at most `poolSize` connections.
    ///
    /// Fails with a ``StoreError`` that says what is wrong in words, never with the
    /// password: "cannot reach PostgreSQL at HOST:PORT (connection refused)",
    /// "PostgreSQL refused the password for USER", "database NAME does not exist".
    public static func open(
        _ location: PostgresEndpoint, poolSize: Int = 8, queryTimeout: Duration = .seconds(3),
        logger: Logger = Logger(label: "baton.postgres")
    ) async throws -> PostgresStore {
        guard poolSize >= 1 else { throw StoreError("database_pool_size must be at least 1") }
        if let schema = location.schema, !PostgresEndpoint.isPlainIdentifier(schema) {
            throw StoreError("schema \(schema) is not a plain lower-case identifier")
        }
        let tls = try Self.tlsConfiguration(location)
        try await Self.migrate(location, tls: tls, timeout: queryTimeout, logger: logger)
        var configuration: PostgresClient.Configuration
        if location.isUnixSocket {
            configuration = .init(
                unixSocketPath: location.unixSocketPath, username: location.user, password: location.password,
                database: location.database)
        } else {
            configuration = .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: tls.map { location.sslMode == .prefer ? .prefer($0) : .require($0) } ?? .disable)
        }
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = queryTimeout
        configuration.options.additionalStartupParameters = Self.sessionSettings(location, statementTimeout: queryTimeout + .seconds(2))
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return PostgresStore(location: location, client: client, logger: logger, queryTimeout: queryTimeout)
    }

    /// ``open(_:poolSize:queryTimeout:logger:)`` from the URL's parts; `sslmode` is
    /// `disable`, `prefer`, `require` or `verify-full`.
    public static func open(
        host: String, port: Int = 5432, user: String, password: String?, database: String, sslmode: String = "prefer",
        poolSize: Int = 8, logger: Logger = Logger(label: "baton.postgres")
    ) async throws -> PostgresStore {
        guard let mode = PostgresEndpoint.SSLMode(rawValue: sslmode) else {
            throw StoreError("sslmode must be disable, prefer, require or verify-full, not \(sslmode)")
        }
        let location = PostgresEndpoint(host: host, port: port, user: user, password: password, database: database, sslMode: mode)
        return try await open(location, poolSize: poolSize, logger: logger)
    }

    /// Closes every connection and ends the pool's task; operations after it fail.
    public func shutdown() async {
        runner.cancel()
        await runner.value
    }

    /// What every connection sets at start: the schema, commits that are durable before
    /// they are answered (whatever the server's default), and server-side bounds so that
    /// nothing the client gave up on keeps running or holds locks.
    static func sessionSettings(_ location: PostgresEndpoint, statementTimeout: Duration) -> [(String, String)] {
        var settings: [(String, String)] = [
            ("application_name", "baton"),
            // A burn is answered only once it is on disk.
            ("synchronous_commit", "on"),
            ("statement_timeout", "\(statementTimeout.components.seconds * 1000)"),
            ("idle_in_transaction_session_timeout", "10000"),
        ]
        if let schema = location.schema { settings.append(("search_path", schema)) }
        return settings
    }

    static func tlsConfiguration(_ location: PostgresEndpoint) throws -> TLSConfiguration? {
        guard !location.isUnixSocket else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable: return nil
        case .prefer, .require: tls.certificateVerification = .none
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    // MARK: - Running queries

    /// Runs one statement on a pooled connection (autocommit: committed, and durable,
    /// before it answers) and decodes its rows; `what` names it in errors.
    func rows<T: Sendable>(_ query: PostgresQuery, _ what: String, as decode: @escaping @Sendable (PostgresRow) throws -> T)
        async throws -> [T]
    {
        let client = client
        let logger = logger
        return try await bounded(what) {
            try await client.query(query, logger: logger).collect().map(decode)
        }
    }

    /// Runs one statement (autocommit); returns how many rows it returned.
    @discardableResult
    func execute(_ query: PostgresQuery, _ what: String) async throws -> Int {
        try await rows(query, what) { _ in () }.count
    }

    /// Runs `body` in one transaction on one pooled connection: committed before this
    /// returns, rolled back when `body` throws. A deadlock or serialization failure that
    /// PostgreSQL resolved by aborting this transaction is retried (twice at most).
    func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        let client = client
        let logger = logger
        return try await bounded(what) {
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try await client.withTransaction(logger: logger) { connection in
                        try await body(Transaction(connection: connection, logger: logger))
                    }
                } catch let error as PostgresTransactionError where attempt < 3 && Self.isRetryable(error) {
                    continue
                }
            }
        }
    }

    /// One open transaction's connection.
    struct Transaction: Sendable {
        let connection: PostgresConnection
        let logger: Logger

        func rows<T>(_ query: PostgresQuery, as decode: (PostgresRow) throws -> T) async throws -> [T] {
            try await connection.query(query, logger: logger).collect().map(decode)
        }

        /// Runs one statement; returns how many rows it returned.
        @discardableResult
        func execute(_ query: PostgresQuery) async throws -> Int {
            try await connection.query(query, logger: logger).collect().count
        }
    }

    /// Bounds `operation` by `queryTimeout` and turns every failure into a ``StoreError``
    /// (errors a caller's closure threw on purpose pass through as they are).
    private func bounded<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let location = location
        let timeout = queryTimeout
        do {
            return try await withDeadline(
                timeout, message: "PostgreSQL at \(location.endpoint) did not answer within \(timeout) (\(what))", operation)
        } catch {
            throw Self.storeError(error, what, location)
        }
    }

    private static func isRetryable(_ error: PostgresTransactionError) -> Bool {
        guard let failure = (error.closureError ?? error.commitError) as? PSQLError else { return false }
        // serialization_failure, deadlock_detected
        return ["40001", "40P01"].contains(failure.serverInfo?[.sqlState] ?? "")
    }
}

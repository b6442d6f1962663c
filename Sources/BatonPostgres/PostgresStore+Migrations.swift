import BatonCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

extension PostgresStore {
    /// One step of the schema: statements run in order, in the migrator's transaction.
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// The schema, one named step at a time, mirroring SQLite's (SQLiteStore+Migrations)
    /// at its current version. Steps are never edited once released: a change is a new step.
    static let migrations: [Migration] = [
        Migration(
            name: "v1: users, sessions, used tokens, logout queue, key ring, sign-in throttle",
            statements: [
                """
                CREATE TABLE users (
                    id text PRIMARY KEY,
                    username text NOT NULL UNIQUE,
                    display_name text NOT NULL,
                    email text NOT NULL DEFAULT '',
                    groups text NOT NULL DEFAULT '',
                    password_hash text NOT NULL,
                    created_at double precision NOT NULL)
                """,
                """
                CREATE TABLE login_sessions (
                    sid text PRIMARY KEY,
                    secret_hash text NOT NULL UNIQUE,
                    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    auth_time double precision NOT NULL,
                    last_seen double precision NOT NULL,
                    expires_at double precision NOT NULL,
                    user_agent text NOT NULL)
                """,
                "CREATE INDEX login_sessions_user ON login_sessions (user_id, auth_time)",
                "CREATE INDEX login_sessions_expires ON login_sessions (expires_at)",
                """
                CREATE TABLE session_lookups (
                    sid text NOT NULL REFERENCES login_sessions(sid) ON DELETE CASCADE,
                    client_id text NOT NULL,
                    looked_up_at double precision NOT NULL,
                    PRIMARY KEY (sid, client_id))
                """,
                """
                CREATE TABLE logout_deliveries (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    sid text NOT NULL,
                    client_id text NOT NULL,
                    created_at double precision NOT NULL,
                    next_attempt_at double precision NOT NULL,
                    attempts integer NOT NULL DEFAULT 0,
                    deadline double precision NOT NULL,
                    last_error text,
                    UNIQUE (sid, client_id))
                """,
                "CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at)",
                "CREATE INDEX logout_deliveries_deadline ON logout_deliveries (deadline)",
                """
                CREATE TABLE used_tokens (
                    issuer text NOT NULL,
                    jti text NOT NULL,
                    until double precision NOT NULL,
                    PRIMARY KEY (issuer, jti))
                """,
                "CREATE INDEX used_tokens_until ON used_tokens (until)",
                """
                CREATE TABLE rp_sessions (
                    id_hash text PRIMARY KEY,
                    client_id text NOT NULL,
                    login_sid text NOT NULL,
                    created_by_jti text NOT NULL,
                    return_to text NOT NULL,
                    subject text NOT NULL,
                    username text NOT NULL,
                    display_name text NOT NULL,
                    email text NOT NULL DEFAULT '',
                    groups text NOT NULL DEFAULT '',
                    created_at double precision NOT NULL,
                    expires_at double precision NOT NULL,
                    timeline text NOT NULL,
                    last_seen double precision NOT NULL,
                    last_validated double precision NOT NULL)
                """,
                "CREATE INDEX rp_sessions_login ON rp_sessions (client_id, login_sid)",
                "CREATE INDEX rp_sessions_subject ON rp_sessions (client_id, subject, created_at)",
                "CREATE INDEX rp_sessions_last_seen ON rp_sessions (client_id, last_seen)",
                "CREATE INDEX rp_sessions_expires ON rp_sessions (expires_at)",
                // One row, there from the start, so that the first key's creation locks
                // it like every later rotation does (ring NULL: no key yet).
                """
                CREATE TABLE signing_key_ring (
                    id integer PRIMARY KEY CHECK (id = 1),
                    ring text,
                    updated_at double precision)
                """,
                "INSERT INTO signing_key_ring (id) VALUES (1)",
                // The sign-in throttle's counts: worth nothing after a crash of the
                // server, so not worth its WAL.
                """
                CREATE UNLOGGED TABLE sign_in_failures (
                    key text NOT NULL,
                    failed_at double precision NOT NULL,
                    keep_until double precision NOT NULL)
                """,
                "CREATE INDEX sign_in_failures_key ON sign_in_failures (key, failed_at)",
                "CREATE INDEX sign_in_failures_keep ON sign_in_failures (keep_until)",
                """
                CREATE UNLOGGED TABLE sign_in_reservations (
                    id text NOT NULL,
                    key text NOT NULL,
                    expires_at double precision NOT NULL,
                    PRIMARY KEY (id, key))
                """,
                "CREATE INDEX sign_in_reservations_key ON sign_in_reservations (key, expires_at)",
                "CREATE INDEX sign_in_reservations_expires ON sign_in_reservations (expires_at)",
            ])
    ]

    /// Connects once, outside the pool, so that a wrong password or a missing database
    /// fails here in words instead of leaving the pool retrying, and applies the steps
    /// not yet applied. The steps run in one transaction holding an advisory lock on the
    /// schema's name: of several processes starting together, one migrates and the
    /// others wait for it, then find nothing left to do.
    static func migrate(_ location: PostgresEndpoint, tls: TLSConfiguration?, timeout: Duration, logger: Logger) async throws {
        var configuration: PostgresConnection.Configuration
        if location.isUnixSocket {
            configuration = .init(
                unixSocketPath: location.unixSocketPath, username: location.user, password: location.password,
                database: location.database)
        } else {
            let context = try tls.map { try NIOSSLContext(configuration: $0) }
            configuration = .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database,
                tls: context.map { location.sslMode == .prefer ? .prefer($0) : .require($0) } ?? .disable)
        }
        configuration.options.connectTimeout = .seconds(max(timeout.components.seconds, 1))
        // Waiting for another process's migration is allowed to take longer than a query.
        configuration.options.additionalStartupParameters = sessionSettings(location, statementTimeout: .seconds(60))
        let connectTimeout = timeout + .seconds(1)
        let settings = configuration
        let connection: PostgresConnection
        do {
            connection = try await withDeadline(
                connectTimeout, message: "cannot reach PostgreSQL at \(location.endpoint) (no answer within \(connectTimeout))"
            ) {
                try await PostgresConnection.connect(configuration: settings, id: 0, logger: logger)
            }
        } catch {
            throw openError(error, location)
        }
        do {
            try await withDeadline(.seconds(60), message: "migrating PostgreSQL at \(location.endpoint) took over 60 s") {
                try await connection.withTransaction(logger: logger) { connection in
                    try await applyMigrations(connection, location: location, logger: logger)
                }
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw storeError(error, "migrating the schema", location)
        }
    }

    private static func applyMigrations(_ connection: PostgresConnection, location: PostgresEndpoint, logger: Logger) async throws {
        let lockName = "baton migrations \(location.schema ?? "default schema")"
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(lockName), 0))", logger: logger).collect()
        if let schema = location.schema {
            // A plain identifier (checked at open), so it may be spliced in.
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger).collect()
        }
        _ = try await connection.query(
            "CREATE TABLE IF NOT EXISTS baton_migrations (name text PRIMARY KEY, applied_at double precision NOT NULL)",
            logger: logger
        ).collect()
        var applied = Set<String>()
        for try await name in try await connection.query("SELECT name FROM baton_migrations", logger: logger).decode(String.self) {
            applied.insert(name)
        }
        for migration in migrations where !applied.contains(migration.name) {
            for statement in migration.statements {
                _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
            }
            let now = Date().timeIntervalSince1970
            _ = try await connection.query(
                "INSERT INTO baton_migrations (name, applied_at) VALUES (\(migration.name), \(now))", logger: logger
            ).collect()
            logger.info("applied migration", metadata: ["migration": .string(migration.name)])
        }
    }
}

import BatonCore
import BatonPostgres
import BatonSQLite
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// What every engine's store offers the suite: the store protocols, plus the pruning and
/// row counts each engine has beside them.
protocol ConformanceStore: UserStore, LoginSessionStore, LogoutDeliveryStore, RelyingPartyStore {
    @discardableResult func prune(now: Date, idleTimeouts: [String: TimeInterval]) async throws -> Int
    func rowCounts() async throws -> [String: Int]
}

extension SQLiteStore: ConformanceStore {}
extension PostgresStore: ConformanceStore {}

/// A storage engine under test: every conformance test runs once per engine.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }

    /// The engines the suite runs against: PostgreSQL whenever a server is given, or
    /// required (then its cases fail without one); otherwise it is left out, and
    /// ``EngineCoverageTests`` shows the skip.
    static var underTest: [Engine] { postgresURL != nil || postgresRequired ? allCases : [.sqlite] }

    /// The server Scripts/test started (Scripts/postgres-test-server), if any.
    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["BATON_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Scripts/test sets it: a missing server is then a failure, never a skip.
    static var postgresRequired: Bool { ProcessInfo.processInfo.environment["BATON_REQUIRE_POSTGRES"] == "1" }

    /// The test server's location, or a failure (when required) or a skip note.
    static func postgresLocation() throws -> PostgresEndpoint {
        guard let url = postgresURL else {
            if postgresRequired {
                throw SuiteError("BATON_REQUIRE_POSTGRES=1 but BATON_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
            }
            try Test.cancel(Engine.skipNote)
        }
        return try PostgresEndpoint(url: url, environment: [:])
    }
}

extension Engine {
    static let skipNote: Comment = "BATON_TEST_POSTGRES_URL is not set: the PostgreSQL cases are skipped (Scripts/test starts a server)"
}

/// What the suite did not cover, shown as skipped tests rather than passing in silence.
@Suite("Conformance: engines covered")
struct EngineCoverageTests {
    @Test("the PostgreSQL cases ran against a real server", .disabled(if: Engine.postgresURL == nil && !Engine.postgresRequired, Engine.skipNote))
    func postgresCovered() throws {
        guard Engine.postgresURL != nil else {
            throw SuiteError("BATON_REQUIRE_POSTGRES=1 but BATON_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
        }
    }
}

struct SuiteError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One fresh, empty database of one engine, for one test: a SQLite file in a temporary
/// folder, or a PostgreSQL schema of its own in the test server's database (so tests
/// run in parallel). ``open()`` gives another store on the same database, as another
/// process or replica would have.
final class TestDatabase: Sendable {
    let engine: Engine
    private let directory: URL?
    let location: PostgresEndpoint?
    private let opened = OpenedStores()

    private init(engine: Engine, directory: URL?, location: PostgresEndpoint?) {
        self.engine = engine
        self.directory = directory
        self.location = location
    }

    static func fresh(_ engine: Engine) throws -> TestDatabase {
        switch engine {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("baton-conformance-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return TestDatabase(engine: engine, directory: directory, location: nil)
        case .postgres:
            var location = try Engine.postgresLocation()
            location.schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            return TestDatabase(engine: engine, directory: nil, location: location)
        }
    }

    /// A store on this database; pools are kept small, as the suite opens many at once.
    func open(poolSize: Int = 4) async throws -> any ConformanceStore {
        switch engine {
        case .sqlite:
            return try SQLiteStore(path: directory!.appendingPathComponent("baton.sqlite").path)
        case .postgres:
            let store = try await PostgresStore.open(location!, poolSize: poolSize, logger: quietLogger)
            opened.add(store)
            return store
        }
    }

    /// The sign-in throttle each engine's login host uses: PostgreSQL's counts in the
    /// store, shared by replicas; a SQLite host's in its own memory (one per process).
    func throttle(for store: any ConformanceStore, limits: LoginThrottle.Limits = .init(), clock: any BatonClock)
        -> any SignInThrottling
    {
        if let postgres = store as? PostgresStore { return postgres.signInThrottle(limits: limits, clock: clock) }
        return LoginThrottle(limits: limits, clock: clock)
    }

    /// Shuts down every store opened and removes the database.
    func close() async {
        for store in opened.all() { await store.shutdown() }
        if let directory { try? FileManager.default.removeItem(at: directory) }
        if let location, let schema = location.schema { await Self.dropSchema(schema, at: location) }
    }

    private static func dropSchema(_ schema: String, at location: PostgresEndpoint) async {
        var configuration = PostgresConnection.Configuration(
            unixSocketPath: (location.host as NSString).appendingPathComponent(".s.PGSQL.\(location.port)"),
            username: location.user, password: location.password, database: location.database)
        configuration.options.connectTimeout = .seconds(3)
        guard let connection = try? await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "drop"))
        else { return }
        _ = try? await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: Logger(label: "drop"))
            .collect()
        try? await connection.close()
    }
}

private final class OpenedStores: Sendable {
    private let stores = Mutex<[PostgresStore]>([])
    func add(_ store: PostgresStore) { stores.withLock { $0.append(store) } }
    func all() -> [PostgresStore] { stores.withLock { $0 } }
}

/// Runs `body` with a fresh database of `engine` and a store on it, and removes it all
/// afterwards, whatever happens.
func withStore(_ engine: Engine, _ body: (any ConformanceStore, TestDatabase) async throws -> Void) async throws {
    let database = try TestDatabase.fresh(engine)
    do {
        let store = try await database.open()
        try await body(store, database)
    } catch {
        await database.close()
        throw error
    }
    await database.close()
}

/// The suite's logger: PostgresNIO's notes on failed connections (which the outage
/// tests cause on purpose) would drown the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "conformance")
    logger.logLevel = .critical
    return logger
}()

/// A whole-second date.
func at(_ seconds: Int) -> Date { Date(timeIntervalSince1970: TimeInterval(1_750_000_000 + seconds)) }

import BatonCore
import Foundation
import Logging
import Testing

@testable import BatonPostgres

/// What only the PostgreSQL engine has to show: words at open, migrations run once by
/// many processes, durable commits, 503 within seconds when the server is gone or
/// silent, and recovery by itself.
@Suite("PostgresStore")
struct PostgresStoreTests {
    static let logger = quietLogger

    /// A location in a fresh schema of the test server.
    static func freshLocation() throws -> PostgresEndpoint {
        var location = try Engine.postgresLocation()
        location.schema = "p_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        return location
    }

    static func openError(_ location: PostgresEndpoint) async -> String {
        do {
            let store = try await PostgresStore.open(location, logger: logger)
            await store.shutdown()
            return "opened"
        } catch {
            return String(describing: error)
        }
    }

    @Test("open says in words when the server is unreachable, refuses the password, or has no such database")
    func openErrors() async throws {
        let location = try Self.freshLocation()
        var refused = location
        refused.host = "127.0.0.1"
        refused.port = 1
        refused.sslMode = .disable
        #expect(await Self.openError(refused) == "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)")

        var noSocket = location
        noSocket.host = "/nonexistent-baton-dir"
        #expect(await Self.openError(noSocket) == "cannot reach PostgreSQL at /nonexistent-baton-dir/.s.PGSQL.5432 (no socket at /nonexistent-baton-dir/.s.PGSQL.5432)")

        var wrongPassword = location
        wrongPassword.password = "wrong-password-\(UUID().uuidString)"
        let refusal = await Self.openError(wrongPassword)
        #expect(refusal == "PostgreSQL refused the password for \(location.user)")
        #expect(!refusal.contains(wrongPassword.password!))

        var noDatabase = location
        noDatabase.database = "no_such_database"
        #expect(await Self.openError(noDatabase) == "database no_such_database does not exist")

        var noPassword = location
        noPassword.password = nil
        #expect(await Self.openError(noPassword).hasPrefix("PostgreSQL wants a password for \(location.user)"))
    }

    @Test("eight processes opening one new schema together run each migration exactly once")
    func migrationsRunOnce() async throws {
        let location = try Self.freshLocation()
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<8 { group.addTask { try await PostgresStore.open(location, poolSize: 2, logger: Self.logger) } }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        let names = try await stores[0].rows("SELECT name FROM baton_migrations ORDER BY name", "test") { try $0.decode(String.self) }
        #expect(names == PostgresStore.migrations.map(\.name))
        #expect(try await stores[3].rowCounts()["users"] == 0)
        for store in stores { await store.shutdown() }
        // Opening again applies nothing and loses nothing.
        let again = try await PostgresStore.open(location, poolSize: 1, logger: Self.logger)
        #expect(try await again.rows("SELECT count(*)::bigint FROM baton_migrations", "test") { try $0.decode(Int.self) } == [names.count])
        await again.shutdown()
    }

    @Test("every connection commits durably: fsync and synchronous_commit are on")
    func durableCommits() async throws {
        let location = try Self.freshLocation()
        let store = try await PostgresStore.open(location, poolSize: 3, logger: Self.logger)
        let settings = try await store.rows("SELECT current_setting('fsync'), current_setting('synchronous_commit')", "test") {
            try $0.decode((String, String).self)
        }
        #expect(settings.first?.0 == "on" && settings.first?.1 == "on")
        await store.shutdown()
    }

    @Test("a silent server: operations fail with StoreError within 3.5 s, the probe within 2.5 s; back, the store recovers")
    func silentServer() async throws {
        var location = try Self.freshLocation()
        let forwarder = try await Forwarder.start(toUnixSocket: location.unixSocketPath)
        location.host = "127.0.0.1"
        location.port = forwarder.port
        location.sslMode = .disable
        let store = try await PostgresStore.open(location, poolSize: 2, logger: Self.logger)
        #expect(try await store.burn(issuer: "iss", jti: "before", until: at(60)) == .burned)

        forwarder.set(.silent)
        for attempt in 0..<3 {
            let started = ContinuousClock.now
            await #expect(throws: StoreError.self) { try await store.burn(issuer: "iss", jti: "during-\(attempt)", until: at(60)) }
            #expect(ContinuousClock.now - started < .milliseconds(3500))
        }
        let probeStarted = ContinuousClock.now
        await #expect(throws: StoreError.self) { try await store.probe() }
        #expect(ContinuousClock.now - probeStarted < .milliseconds(2500))
        let openStarted = ContinuousClock.now
        #expect(await Self.openError(location).hasPrefix("cannot reach PostgreSQL at 127.0.0.1:\(forwarder.port)"))
        #expect(ContinuousClock.now - openStarted < .seconds(5))

        forwarder.set(.open)
        #expect(try await Self.recovers(store, within: .seconds(10)))
        #expect(try await store.burn(issuer: "iss", jti: "before", until: at(60)) == .alreadyUsed)
        await store.shutdown()
        await forwarder.stop()
    }

    @Test("a server that is down: StoreError within 3.5 s, never a success; when it is back, the store recovers by itself")
    func downServer() async throws {
        var location = try Self.freshLocation()
        let forwarder = try await Forwarder.start(toUnixSocket: location.unixSocketPath)
        location.host = "127.0.0.1"
        location.port = forwarder.port
        location.sslMode = .disable
        let store = try await PostgresStore.open(location, poolSize: 2, logger: Self.logger)
        try await store.insertUser(Records.user("user-1", "alice"))

        forwarder.set(.refusing)
        for attempt in 0..<3 {
            let started = ContinuousClock.now
            await #expect(throws: StoreError.self) { _ = try await store.user(username: "alice") }
            await #expect(throws: StoreError.self) { try await store.burn(issuer: "iss", jti: "down-\(attempt)", until: at(60)) }
            #expect(ContinuousClock.now - started < .seconds(7))
        }
        #expect(await Self.openError(location).hasPrefix("cannot reach PostgreSQL at 127.0.0.1:\(forwarder.port) ("))

        forwarder.set(.open)
        #expect(try await Self.recovers(store, within: .seconds(10)))
        #expect(try await store.user(username: "alice")?.id == "user-1")
        await store.shutdown()
        await forwarder.stop()
    }

    @Test("store errors never carry the password")
    func noPasswordInErrors() async throws {
        var location = try Self.freshLocation()
        let forwarder = try await Forwarder.start(toUnixSocket: location.unixSocketPath)
        location.host = "127.0.0.1"
        location.port = forwarder.port
        location.sslMode = .disable
        let store = try await PostgresStore.open(location, poolSize: 1, logger: Self.logger)
        let password = try #require(location.password)
        var messages: [String] = []
        do { try await store.insertUser(Records.user("u", "alice")); try await store.insertUser(Records.user("u", "bob")) } catch {
            messages.append("\(error)")
        }
        forwarder.set(.refusing)
        do { _ = try await store.users() } catch { messages.append("\(error)") }
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { !$0.contains(password) }, "\(messages)")
        #expect(!location.description.contains(password))
        await store.shutdown()
        await forwarder.stop()
    }

    /// True once a burn succeeds again within `limit`.
    static func recovers(_ store: PostgresStore, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if (try? await store.burn(issuer: "iss", jti: UUID().uuidString, until: at(60))) == .burned { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}

@Suite("PostgresEndpoint: the database URL")
struct PostgresLocationTests {
    @Test("the URL's parts, percent-decoded; the password from the environment when the URL has none")
    func parse() throws {
        let location = try PostgresEndpoint(url: "postgres://baton%40corp:p%40ss%2Fw@db.internal:6432/baton_prod?sslmode=verify-full", environment: [:])
        #expect(location.user == "baton@corp" && location.password == "p@ss/w")
        #expect(location.host == "db.internal" && location.port == 6432 && location.database == "baton_prod")
        #expect(location.sslMode == .verifyFull)
        #expect(location.description == "postgres://baton@corp@db.internal:6432/baton_prod?sslmode=verify-full")

        let fromEnvironment = try PostgresEndpoint(url: "postgresql://baton@localhost/baton", environment: ["BATON_DATABASE_PASSWORD": "secret"])
        #expect(fromEnvironment.password == "secret" && fromEnvironment.port == 5432 && fromEnvironment.sslMode == .prefer)

        let socket = try PostgresEndpoint(url: "postgres://baton@%2Frun%2Fpostgresql/baton", environment: [:])
        #expect(socket.isUnixSocket && socket.endpoint == "/run/postgresql/.s.PGSQL.5432" && socket.password == nil)
        let socketParameter = try PostgresEndpoint(url: "postgres://baton@localhost:5433/baton?host=/tmp/pg", environment: [:])
        #expect(socketParameter.endpoint == "/tmp/pg/.s.PGSQL.5433")

        let ipv6 = try PostgresEndpoint(url: "postgres://baton@[::1]:5432/baton?sslmode=disable", environment: [:])
        #expect(ipv6.host == "::1" && ipv6.sslMode == .disable)
    }

    @Test("not a PostgreSQL URL: refused with a reason, never repeating the password")
    func refuse() {
        #expect(PostgresEndpoint.isURL("postgres://a@b/c") && PostgresEndpoint.isURL("POSTGRESQL://a@b/c"))
        #expect(!PostgresEndpoint.isURL("/var/lib/baton/login.sqlite") && !PostgresEndpoint.isURL("postgres.sqlite"))
        for url in [
            "postgres://db.internal/baton", "postgres://baton:hunter2@db.internal", "postgres://baton:hunter2@db.internal:99999/baton",
            "postgres://baton:hunter2@db.internal/baton?sslmode=allow", "mysql://baton@db/baton",
        ] {
            #expect(throws: ConfigurationError.self, "\(url)") { try PostgresEndpoint(url: url, environment: [:]) }
            do { _ = try PostgresEndpoint(url: url, environment: [:]) } catch { #expect(!"\(error)".contains("hunter2")) }
        }
    }
}

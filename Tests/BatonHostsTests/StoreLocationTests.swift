import BatonCore
import BatonDashboard
import BatonServer
import BatonTestSupport
import Foundation
import Logging
import Testing

/// `database`: a SQLite path or a PostgreSQL URL (PROTOCOL.md "Storage and replicas").
@Suite("The database setting")
struct StoreLocationTests {
    static func folder() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-location-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func loginJSON(database: String) -> String {
        """
        {"public_origin": "http://login.localhost:8080", "database": "\(database)", "signing_keys": "keys.json",
         "templates": "\(TestHosts.templateDirectory())",
         "clients": [{"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "redirect_uris": ["http://d.localhost/cb"]}]}
        """
    }

    static func relyingPartyJSON(database: String) -> String {
        """
        {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "http://d.localhost",
         "issuer": "http://login.localhost:8080", "database": "\(database)", "templates": "\(TestHosts.templateDirectory())"}
        """
    }

    @Test(
        "a PostgreSQL URL is never taken for a SQLite path: no folder named after it, an error naming database without the password",
        arguments: ["postgres://baton:s3cret-pw@db.example.com:5432/baton?sslmode=require", "postgresql://baton:s3cret-pw@db.example.com/baton"])
    func postgresURLIsNeverAPath(url: String) async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, json) in [("login", Self.loginJSON(database: url)), ("rp", Self.relyingPartyJSON(database: url))] {
            let path = directory + "/\(name).json"
            try json.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                if name == "login" {
                    _ = try await HostAssembly.loginHost(try LoginHostFile(path: path))
                } else {
                    let http = BackChannelClient.makeHTTPClient()
                    do {
                        _ = try await HostAssembly.relyingParty(try RelyingPartyFile(path: path), http: http)
                    } catch {
                        try await http.shutdown()
                        throw error
                    }
                    try await http.shutdown()
                }
                Issue.record("\(name): \(url) was opened as something")
            } catch let error as ConfigurationError {
                #expect(error.field == "database", "\(error)")
                #expect(!error.description.contains("s3cret-pw"), "\(error)")
            }
        }
        // Nothing was created beside the configuration files: no `postgres:` folder, no key file.
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(entries == ["login.json", "rp.json"])
    }

    static func loginFile(_ json: String, environment: [String: String] = [:]) throws -> LoginHostFile {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try json.write(toFile: directory + "/login.json", atomically: true, encoding: .utf8)
        return try LoginHostFile(path: directory + "/login.json", environment: environment)
    }

    @Test("database_pool_size: 8 by default, 1 to 100; signing_keys is a path or the word database")
    func poolSizeAndSigningKeys() throws {
        let base = Self.loginJSON(database: "x.sqlite")
        let file = try Self.loginFile(base)
        #expect(file.databasePoolSize == 8)
        guard case .sqlite(let path) = file.database else { throw StoreError("not a path") }
        #expect(path.hasSuffix("/x.sqlite") && path.hasPrefix("/"))
        #expect(file.keyFile?.hasSuffix("/keys.json") == true)
        #expect(try Self.loginFile(base.replacingOccurrences(of: "{\"public", with: "{\"database_pool_size\": 100, \"public")).databasePoolSize == 100)
        for bad in ["0", "101", "\"8\"", "2.5"] {
            let error = try ConfigurationTests.error(base.replacingOccurrences(of: "{\"public", with: "{\"database_pool_size\": \(bad), \"public"))
            #expect(error?.field == "database_pool_size", "\(bad)")
        }
        let inStore = try Self.loginFile(base.replacingOccurrences(of: "\"keys.json\"", with: "\"database\""))
        #expect(inStore.signingKeys == .database)
        #expect(inStore.keyFile == nil)
        let named = try Self.loginFile(base.replacingOccurrences(of: "\"keys.json\"", with: "\"./database\""))
        #expect(named.keyFile?.hasSuffix("/database") == true)
        let rp = try ConfigurationTests.write(Self.relyingPartyJSON(database: "d.sqlite").replacingOccurrences(of: "{\"client_id", with: "{\"database_pool_size\": 3, \"client_id"))
        defer { try? FileManager.default.removeItem(atPath: rp) }
        #expect(try RelyingPartyFile(path: rp).databasePoolSize == 3)
    }

    @Test("a PostgreSQL URL in a file: parsed, its password from BATON_DATABASE_PASSWORD when the URL has none")
    func postgresInAFile() throws {
        let file = try Self.loginFile(
            Self.loginJSON(database: "postgres://baton@db.internal:5433/baton?sslmode=disable"),
            environment: ["BATON_DATABASE_PASSWORD": "from-env"])
        #expect(file.database == .postgres(PostgresLocation(username: "baton", password: "from-env", host: "db.internal", port: 5433, database: "baton", tls: .disable)))
        let error = try #require(try ConfigurationTests.error(Self.loginJSON(database: "postgres://baton:hunter2@db.internal/baton?sslmode=allow")))
        #expect(error.field == "database")
        #expect(!error.description.contains("hunter2"))
        #expect(try ConfigurationTests.error(Self.loginJSON(database: "mysql://baton:hunter2@db/baton"))?.field == "database")
    }

    @Test("a PostgreSQL server that cannot be reached stops start-up with words naming database, never the password")
    func factoryReportsUnreachablePostgres() async throws {
        // Port 1 on loopback: nothing listens there, so the refusal is immediate.
        let location = StoreLocation.postgres(
            PostgresLocation(username: "baton", password: "hunter2", host: "127.0.0.1", port: 1, database: "baton", tls: .disable))
        do {
            _ = try await StoreFactory.open(location, logger: Logger(label: "test"))
            Issue.record("opened")
        } catch let error as ConfigurationError {
            #expect(error.field == "database")
            #expect(error.message.contains("cannot reach PostgreSQL at 127.0.0.1:1"), "\(error.message)")
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("--listen takes HOST:PORT, IPv6 in brackets")
    func listenOverride() {
        #expect(ListenAddress(parsing: "127.0.0.1:8085") == ListenAddress(host: "127.0.0.1", port: 8085))
        #expect(ListenAddress(parsing: "[::1]:0") == ListenAddress(host: "::1", port: 0))
        #expect(ListenAddress(parsing: "localhost:9000") == ListenAddress(host: "localhost", port: 9000))
        for bad in ["127.0.0.1", ":8080", "127.0.0.1:", "127.0.0.1:65536", "::1:8080", "[::1]", "[]:80", "a b:80", "h:-1"] {
            #expect(ListenAddress(parsing: bad) == nil, "\(bad)")
        }
    }
}

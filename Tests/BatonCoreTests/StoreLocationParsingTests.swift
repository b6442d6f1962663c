import BatonCore
import Foundation
import Testing

/// The `database` value: a SQLite path or a PostgreSQL URL, never one taken for the
/// other, and never a password in a message.
@Suite("StoreLocation: parsing database")
struct StoreLocationParsingTests {
    static func postgres(_ value: String, environment: [String: String] = [:]) throws -> PostgresLocation {
        guard case .postgres(let location) = try StoreLocation(parsing: value, environment: environment) else {
            throw StoreError("\(value) was taken for a path")
        }
        return location
    }

    @Test("a path stays a path, resolved as the reader says")
    func paths() throws {
        #expect(try StoreLocation(parsing: "/var/lib/baton/login.sqlite") == .sqlite(path: "/var/lib/baton/login.sqlite"))
        #expect(try StoreLocation(parsing: "state/login.sqlite", resolvePath: { "/etc/baton/" + $0 }) == .sqlite(path: "/etc/baton/state/login.sqlite"))
        // A colon in a file name is not a scheme unless `://` follows (or it is postgres).
        #expect(try StoreLocation(parsing: "backup:2026.sqlite") == .sqlite(path: "backup:2026.sqlite"))
    }

    @Test("postgres:// and postgresql://: user, password and database percent-decoded, port 5432 and verify-full by default")
    func urls() throws {
        let full = try Self.postgres("postgres://baton%40prod:p%40ss%3Aword@db.example.com:6543/baton%2Dlogin?sslmode=require")
        #expect(full == PostgresLocation(username: "baton@prod", password: "p@ss:word", host: "db.example.com", port: 6543, database: "baton-login", tls: .require))
        let plain = try Self.postgres("postgresql://baton@10.0.0.5/baton")
        #expect(plain == PostgresLocation(username: "baton", host: "10.0.0.5", port: 5432, database: "baton", tls: .verifyFull))
        #expect(try Self.postgres("POSTGRES://u@[::1]:5433/d?sslmode=disable") == PostgresLocation(username: "u", host: "::1", port: 5433, database: "d", tls: .disable))
        #expect(try Self.postgres("postgres://u@h/d?sslmode=verify-full").tls == .verifyFull)
        // An unencoded @ in the password: the host has none, so the last @ ends the user info.
        #expect(try Self.postgres("postgres://u:a@b@h/d").password == "a@b")
    }

    @Test("BATON_DATABASE_PASSWORD supplies the password only when the URL has none")
    func passwordFromEnvironment() throws {
        let environment = ["BATON_DATABASE_PASSWORD": "from-env"]
        #expect(try Self.postgres("postgres://u@h/d", environment: environment).password == "from-env")
        #expect(try Self.postgres("postgres://u:@h/d", environment: environment).password == "from-env")
        #expect(try Self.postgres("postgres://u:in-url@h/d", environment: environment).password == "in-url")
        #expect(try Self.postgres("postgres://u@h/d").password == nil)
    }

    static let malformed = [
        "postgres:", "postgres:/h/d", "postgres://h/d", "postgres://@h/d", "postgres://u@/d", "postgres://u@h", "postgres://u@h/",
        "postgres://u@h:0/d", "postgres://u@h:65536/d", "postgres://u@h:54x/d", "postgres://u@h:/d", "postgres://u@h/d/e",
        "postgres://u@h/d?sslmode=prefer", "postgres://u@h/d?sslmode=", "postgres://u@h/d?sslmode=disable&sslmode=require",
        "postgres://u@h/d?application_name=x", "postgres://u@h/d#x", "postgres://u@[::1/d", "postgres://u@[zz]/d",
        "postgres://u@h:1:2/d", "postgres://u%zz@h/d", "postgres://u@h/d%00", "postgres://u@ho st/d", "postgresql://u@h/d?",
    ]

    @Test("malformed URLs are errors naming the field", arguments: malformed)
    func malformedURLs(value: String) throws {
        do {
            let location = try StoreLocation(parsing: value, field: "database")
            // `?` with nothing after it is harmless; everything else must be refused.
            #expect(value.hasSuffix("?"), "\(value) became \(location)")
        } catch let error as ConfigurationError {
            #expect(error.field == "database")
            #expect(error.message.contains("postgres://USER[:PASSWORD]@HOST"))
        }
    }

    @Test("other schemes are refused, naming the scheme only", arguments: ["mysql://u:secret@h/d", "sqlite:///tmp/x.db", "https://u:secret@h/d"])
    func otherSchemes(value: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try StoreLocation(parsing: value, field: "database") }
        #expect(error.field == "database")
        #expect(error.message.contains("is not a store Baton knows"))
        #expect(!error.description.contains("secret"))
    }

    @Test("the password appears in no description, debug description, dump or error")
    func passwordNeverShown() throws {
        let secret = "Tr0ub4dor-and-3"
        let location = try Self.postgres("postgres://baton:\(secret)@db.example.com/baton?sslmode=require")
        #expect(location.password == secret)
        var dumped = ""
        dump(location, to: &dumped)
        var dumpedStore = ""
        dump(StoreLocation.postgres(location), to: &dumpedStore)
        for text in [
            location.description, String(describing: location), String(reflecting: location), "\(location)", dumped, dumpedStore,
            StoreLocation.postgres(location).description, String(reflecting: StoreLocation.postgres(location)),
        ] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect(location.description == "postgres://baton@db.example.com:5432/baton?sslmode=require")
        for bad in ["postgres://baton:\(secret)@db.example.com/baton?sslmode=bogus", "postgres://baton:\(secret)@db.example.com:99999/baton",
            "postgres://baton:\(secret)@/baton", "postgres://baton:\(secret)@h", "mysql://baton:\(secret)@h/d"]
        {
            let error = try #require(throws: ConfigurationError.self) { try StoreLocation(parsing: bad) }
            #expect(!error.description.contains(secret), "\(error)")
        }
    }
}

import BatonCore
import BatonServer
import BatonTestSupport
import Foundation
import Testing

@Suite("Configuration files")
struct ConfigurationTests {
    static let demo = TestHosts.repositoryRoot() + "/Demo"

    @Test("the Demo/ files describe the same hosts as baton demo")
    func demoFilesMatchTheDemo() throws {
        let login = try LoginHostFile(path: Self.demo + "/login.json")
        #expect(login.listen == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(login.host.publicOrigin == DemoSetup.loginOrigin)
        #expect(login.host.metricsToken == "demo-only-metrics-token-0123456789abcdef")
        for rp in DemoSetup.relyingParties {
            let file = try RelyingPartyFile(path: Self.demo + "/\(rp.id).json")
            #expect(file.listen == ListenAddress(host: "127.0.0.1", port: rp.port))
            #expect(file.host.clientID == rp.id)
            #expect(file.host.publicOrigin == rp.publicOrigin)
            #expect(file.host.issuer == DemoSetup.loginOrigin)
            #expect(file.host.metricsToken == login.host.metricsToken)
            let client = try #require(login.host.clients.clients[rp.id])
            #expect(client.redirectURIs == [file.host.redirectURI])
            #expect(login.host.clients.authenticate(clientID: rp.id, secret: file.host.clientSecret) != nil)
        }
    }

    static func write(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-config-\(UUID().uuidString).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func error(_ json: String, rp: Bool = false) throws -> ConfigurationError? {
        let path = try write(json)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            if rp { _ = try RelyingPartyFile(path: path) } else { _ = try LoginHostFile(path: path) }
            return nil
        } catch let error as ConfigurationError {
            return error
        }
    }

    static let validLogin = """
        {"public_origin": "http://login.localhost:8080", "database": "x.sqlite", "signing_keys": "k.json",
         "clients": [{"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "redirect_uris": ["http://d.localhost/cb"]}]}
        """

    @Test("a config error stops start-up with a message naming the field")
    func errorsNameTheField() throws {
        #expect(try Self.error(Self.validLogin) == nil)
        let cases: [(String, String)] = [
            (Self.validLogin.replacingOccurrences(of: #""public_origin": "http://login.localhost:8080", "#, with: ""), "public_origin"),
            (Self.validLogin.replacingOccurrences(of: "http://login.localhost:8080", with: "http://login.localhost:8080/x"), "public_origin"),
            (Self.validLogin.replacingOccurrences(of: "0123456789abcdef0123456789abcdef", with: "short"), "clients[0].client_secret"),
            (Self.validLogin.replacingOccurrences(of: "http://d.localhost/cb", with: "http://d.localhost/cb#x"), "clients[0].redirect_uris[0]"),
            (Self.validLogin.replacingOccurrences(of: #""database""#, with: #""databse""#), "database"),
            (Self.validLogin.replacingOccurrences(of: "{\"public", with: "{\"token_lifetime_seconds\": 61, \"public"), "token_lifetime_seconds"),
            (Self.validLogin.replacingOccurrences(of: "{\"public", with: "{\"listen\": {\"port\": \"80\"}, \"public"), "listen.port"),
            (Self.validLogin.replacingOccurrences(of: "{\"public", with: "{\"listn\": {}, \"public"), "listn"),
            // A key that is no name is shown quoted (found by the config fuzzer: `` named nothing).
            (Self.validLogin.replacingOccurrences(of: "{\"public", with: "{\"\": {}, \"public"), "\"\""),
            (Self.validLogin.replacingOccurrences(of: "{\"public", with: "{\"a b\\n\": 1, \"public"), "\"a b\\n\""),
        ]
        for (json, field) in cases {
            let error = try #require(try Self.error(json), "\(field)")
            #expect(error.field == field, "\(error)")
            #expect(error.description.contains(field))
        }
        let rp = """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "http://d.localhost",
             "issuer": "http://login.localhost:8080", "database": "d.sqlite", "leeway_seconds": 5}
            """
        #expect(try Self.error(rp, rp: true)?.field == "leeway_seconds")
    }

    @Test("plain http only to loopback and .localhost hosts, unless allow_insecure_http is set (then with a warning); the refusal names the field")
    func noPlainTextWhereItMatters() throws {
        let rp = """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "ORIGIN",
             "issuer": "ISSUER", "login_backchannel_url": "BACK", "database": "d.sqlite"EXTRA}
            """
        func rpFile(_ origin: String, _ issuer: String, _ back: String, extra: String = "") -> String {
            rp.replacingOccurrences(of: "ORIGIN", with: origin).replacingOccurrences(of: "ISSUER", with: issuer)
                .replacingOccurrences(of: "BACK", with: back).replacingOccurrences(of: "EXTRA", with: extra)
        }
        // Loopback, localhost and https are fine.
        for (origin, issuer, back) in [
            ("http://d.localhost:8081", "http://login.localhost:8080", "http://127.0.0.1:8080"),
            ("https://app.example.com", "https://login.example.com", "https://10.0.0.5:8443"), ("http://localhost:1", "http://[::1]:2", "http://127.9.9.9"),
        ] {
            #expect(try Self.error(rpFile(origin, issuer, back), rp: true) == nil, "\(origin) \(issuer) \(back)")
        }
        // Anything else over plain http is refused, naming the field.
        #expect(try Self.error(rpFile("http://app.example.com", "https://login.example.com", "https://login.example.com"), rp: true)?.field == "public_origin")
        #expect(try Self.error(rpFile("https://app.example.com", "http://login.example.com", "https://login.example.com"), rp: true)?.field == "issuer")
        #expect(
            try Self.error(rpFile("https://app.example.com", "https://login.example.com", "http://10.0.0.5:8080"), rp: true)?.field
                == "login_backchannel_url")
        let login = Self.validLogin.replacingOccurrences(of: "http://login.localhost:8080", with: "https://login.example.com")
        #expect(try Self.error(login.replacingOccurrences(of: "http://d.localhost/cb", with: "http://d.example.com/cb"))?.field == "clients[0].redirect_uris[0]")
        #expect(
            try Self.error(login.replacingOccurrences(of: #""redirect_uris""#, with: #""backchannel_logout_uri": "http://10.1.1.1/sso/backchannel-logout", "redirect_uris""#))?.field
                == "clients[0].backchannel_logout_uri")
        #expect(try Self.error(login.replacingOccurrences(of: "https://login.example.com", with: "http://login.example.com"))?.field == "public_origin")
        // Allowed on purpose: accepted, with a warning that names the field.
        let allowed = try Self.write(rpFile("http://app.example.com", "http://login.example.com", "http://10.0.0.5", extra: #", "allow_insecure_http": true"#))
        defer { try? FileManager.default.removeItem(atPath: allowed) }
        let file = try RelyingPartyFile(path: allowed)
        #expect(file.warnings.count == 3)
        #expect(file.warnings.contains { $0.hasPrefix("login_backchannel_url uses plain http") })
        #expect(try Self.error(rpFile("http://d.localhost", "http://login.localhost", "http://127.0.0.1", extra: #", "allow_insecure_http": "yes""#), rp: true)?.field == "allow_insecure_http")
    }

    @Test("jwks_max_stale_seconds: an hour by default, read from the file, at least the longest JWKS cache time")
    func jwksMaxStale() throws {
        let rp = """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "http://d.localhost",
             "issuer": "http://login.localhost:8080", "database": "d.sqlite"STALE}
            """
        func file(_ extra: String) throws -> RelyingPartyFile {
            let path = try Self.write(rp.replacingOccurrences(of: "STALE", with: extra))
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try RelyingPartyFile(path: path)
        }
        #expect(try file("").host.jwksMaxStale == 3600)
        #expect(try file(#", "jwks_max_stale_seconds": 900"#).host.jwksMaxStale == 900)
        for bad in ["299", "0", "-1", "\"3600\""] {
            let error = try Self.error(rp.replacingOccurrences(of: "STALE", with: #", "jwks_max_stale_seconds": "# + bad), rp: true)
            #expect(error?.field == "jwks_max_stale_seconds", "\(bad)")
        }
    }

    @Test("baton demo keeps its key and secrets readable by the owner only, and stable across restarts")
    func demoStateIsPrivate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try DemoSetup(dataDirectory: directory, bcryptCost: 4)
        let second = try DemoSetup(dataDirectory: directory, bcryptCost: 4)
        #expect(first.relyingPartyFiles.map(\.host.clientSecret) == second.relyingPartyFiles.map(\.host.clientSecret))
        let keyFile = try #require(first.login.keyFile)
        _ = try SigningKeyRing.loadOrCreate(at: keyFile, clock: SystemClock())
        for file in [keyFile, directory + "/demo-client-secrets.json"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)
            #expect(mode.intValue & 0o077 == 0, "\(file)")
        }
        let again = try SigningKeyRing.loadOrCreate(at: keyFile, clock: SystemClock())
        #expect(again.active(at: Date()).kid == (try SigningKeyRing.load(from: keyFile)).active(at: Date()).kid)
    }
}

@Suite("baton check")
struct ConfigurationCheckTests {
    @Test("the demo's files pass, described setting by setting, every secret hidden, nothing created")
    func demoFilesPass() async throws {
        for name in ["login", "dashboard", "reports", "app"] {
            let output = try await ConfigurationCheck.check(path: ConfigurationTests.demo + "/\(name).json")
            #expect(output.hasPrefix(name == "login" ? "login host" : "relying party \(name)"))
            #expect(!output.contains("demo-only-"), "a secret was printed for \(name)")
            #expect(output.contains("(hidden)"))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-check-\(UUID().uuidString)").path
        let path = try ConfigurationTests.write(
            ConfigurationTests.validLogin.replacingOccurrences(of: #""x.sqlite""#, with: "\"\(directory)/x.sqlite\"")
                .replacingOccurrences(of: #""k.json""#, with: "\"\(directory)/k.json\""))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try await ConfigurationCheck.check(path: path)
        #expect(output.contains("(created at first start)"))
        #expect(!FileManager.default.fileExists(atPath: directory), "check created the data folder")
    }

    @Test("an error names the field; a file that is neither kind says so")
    func errors() async throws {
        let bad = try ConfigurationTests.write(#"{"client_id": "x", "client_secret": "short"}"#)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        await #expect(throws: ConfigurationError.self) { try await ConfigurationCheck.check(path: bad) }
        do {
            _ = try await ConfigurationCheck.check(path: bad)
        } catch let error as ConfigurationError {
            #expect(error.field == "client_secret")
        }
        let neither = try ConfigurationTests.write(#"{"listen": {"port": 1}}"#)
        defer { try? FileManager.default.removeItem(atPath: neither) }
        do {
            _ = try await ConfigurationCheck.check(path: neither)
            Issue.record("a file that is neither kind passed")
        } catch let error as ConfigurationError {
            #expect(error.field == "--config")
        }
    }

    @Test("a relative --config resolves the file's relative paths from the working folder, never from /")
    func relativeConfigPath() throws {
        let root = TestHosts.repositoryRoot()
        try #require(FileManager.default.currentDirectoryPath == root, "swift test runs from the package root")
        let file = try LoginHostFile(path: "Demo/login.json")
        #expect(file.database == .sqlite(path: root + "/.baton-demo/serve/login.sqlite"))
    }
}

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
        for rp in DemoSetup.relyingParties {
            let file = try RelyingPartyFile(path: Self.demo + "/\(rp.id).json")
            #expect(file.listen == ListenAddress(host: "127.0.0.1", port: rp.port))
            #expect(file.host.clientID == rp.id)
            #expect(file.host.publicOrigin == rp.publicOrigin)
            #expect(file.host.issuer == DemoSetup.loginOrigin)
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

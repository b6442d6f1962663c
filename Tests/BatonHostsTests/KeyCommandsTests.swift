import BatonCore
import BatonLogin
import BatonServer
import BatonTestSupport
import Foundation
import Testing

/// `baton keys rotate` and `baton keys list`, and the configuration fields they read.
@Suite("baton keys")
struct KeyCommandsTests {
    static func loginFile(_ extra: String = "") throws -> (file: LoginHostFile, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-keys-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json = """
            {"public_origin": "http://login.localhost:8080", "database": "login.sqlite", "signing_keys": "keys/login-keys.json",
             \(extra)
             "clients": [{"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "redirect_uris": ["http://d.localhost/cb"]}]}
            """
        try json.write(toFile: directory + "/login.json", atomically: true, encoding: .utf8)
        return (try LoginHostFile(path: directory + "/login.json"), directory)
    }

    @Test("rotate prints when the new key signs; list shows pending, active, retiring until TIME and expired")
    func rotateAndList() async throws {
        let (file, directory) = try Self.loginFile()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))  // 2025-06-15T15:06:40Z
        #expect(try await KeyManagement.list(file, clock: clock).contains("No key file"))
        let created = try await KeyManagement.rotate(file, clock: clock)
        #expect(created.contains("it signs now"))
        let first = try SigningKeyRing.load(from: file.keyFile!).keys[0]

        let rotated = try await KeyManagement.rotate(file, clock: clock)
        let second = try SigningKeyRing.load(from: file.keyFile!).keys[1]
        #expect(rotated.contains("New signing key \(second.kid) (EdDSA) is published in the JWKS now and signs from 2025-06-15T15:07:40Z (in 60 s)."))
        #expect(rotated.contains("\(first.kid), stays published until 2025-06-15T15:10:40Z"))

        let listed = try await KeyManagement.list(file, clock: clock).split(separator: "\n").map(String.init)
        #expect(listed[0].hasPrefix("KID"))
        #expect(listed[0].contains("ALG") && listed[0].contains("CREATED") && listed[0].contains("STATE"))
        #expect(listed[1].hasPrefix(first.kid) && listed[1].hasSuffix("active"))
        #expect(listed[1].contains("EdDSA") && listed[1].contains("2025-06-15T15:06:40Z"))
        #expect(listed[2].hasPrefix(second.kid) && listed[2].hasSuffix("pending (published; signs from 2025-06-15T15:07:40Z)"))

        clock.advance(by: 60)
        let later = try await KeyManagement.list(file, clock: clock)
        #expect(later.contains("retiring until 2025-06-15T15:10:40Z"))
        clock.advance(by: 180)
        #expect(try await KeyManagement.list(file, clock: clock).split(separator: "\n")[1].hasSuffix("expired"))
        let third = try await KeyManagement.rotate(file, clock: clock)
        #expect(third.contains("Pruned 1 expired key(s)"))
        #expect(!third.contains(first.kid))
    }

    @Test("signing_algorithm ES256 makes P-256 keys, and key_activation_delay_seconds sets the activation")
    func es256AndDelay() async throws {
        let (file, directory) = try Self.loginFile(#""signing_algorithm": "ES256", "jwks_max_age_seconds": 10, "key_activation_delay_seconds": 90,"#)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(file.host.signingAlgorithm == .es256)
        #expect(file.host.jwksMaxAge == 10)
        #expect(file.host.keyActivationDelay == 90)
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        _ = try await KeyManagement.rotate(file, clock: clock)
        let output = try await KeyManagement.rotate(file, clock: clock)
        #expect(output.contains("(ES256)"))
        #expect(output.contains("(in 90 s)"))
        let ring = try SigningKeyRing.load(from: file.keyFile!)
        #expect(ring.keys.map(\.algorithm) == [.es256, .es256])
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file.keyFile!)[.posixPermissions] as? NSNumber)
        #expect(mode.intValue & 0o077 == 0)
    }

    @Test("the new settings are checked and errors name the field")
    func settingsAreChecked() throws {
        let valid = ConfigurationTests.validLogin
        func field(_ insert: String) throws -> String? {
            try ConfigurationTests.error(valid.replacingOccurrences(of: "{\"public", with: "{\(insert), \"public"))?.field
        }
        #expect(try field(#""signing_algorithm": "ES256""#) == nil)
        #expect(try field(#""signing_algorithm": "RS256""#) == "signing_algorithm")
        #expect(try field(#""signing_algorithm": "none""#) == "signing_algorithm")
        #expect(try field(#""jwks_max_age_seconds": 301"#) == "jwks_max_age_seconds")
        #expect(try field(#""jwks_max_age_seconds": 30, "key_activation_delay_seconds": 59"#) == "key_activation_delay_seconds")
        #expect(try field(#""jwks_max_age_seconds": 30, "key_activation_delay_seconds": 60"#) == nil)
        #expect(try field(#""jwks_max_age_seconds": 120"#) == nil)  // the default delay follows: 150
        #expect(try field(#""key_actvation_delay_seconds": 60"#) == "key_actvation_delay_seconds")
        let rp = """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "public_origin": "http://d.localhost",
             "issuer": "http://login.localhost:8080", "database": "d.sqlite", "algorithm": "ALG"}
            """
        #expect(try ConfigurationTests.error(rp.replacingOccurrences(of: "ALG", with: "ES256"), rp: true) == nil)
        #expect(try ConfigurationTests.error(rp.replacingOccurrences(of: "ALG", with: "HS256"), rp: true)?.field == "algorithm")
    }

    @Test("the defaults: EdDSA, JWKS max-age 30 s, activation 60 s; the demo's files and baton demo use them")
    func defaults() throws {
        let login = try LoginHostFile(path: ConfigurationTests.demo + "/login.json")
        #expect(login.host.signingAlgorithm == .eddsa)
        #expect(login.host.jwksMaxAge == 30)
        #expect(login.host.keyActivationDelay == 60)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let demo = try DemoSetup(dataDirectory: directory, bcryptCost: 4)
        #expect(demo.login.host.signingAlgorithm == .eddsa)
        #expect(demo.login.host.keyActivationDelay == 60)
        for file in demo.relyingPartyFiles { #expect(file.host.algorithm == .eddsa) }
    }
}

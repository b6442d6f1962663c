import BatonCore
import BatonServer
import Foundation
import Testing

/// `baton clients add`: a generated secret of 256 bits, printed as the two snippets the
/// configuration files take; and hand-written secrets of at least 32 characters.
@Suite("baton clients add, and client secrets")
struct ClientRegistrationTests {
    /// The JSON object between `start` and the next blank line of `text`.
    static func snippet(after start: String, in text: String) throws -> String {
        let lines = text.components(separatedBy: "\n")
        let from = try #require(lines.firstIndex(of: start)) + 1
        let to = lines[from...].firstIndex(of: "") ?? lines.endIndex
        return lines[from..<to].joined(separator: "\n")
    }

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    @Test("the output is the login host's clients[] entry and the relying party's lines, as JSON, with a matching hash")
    func addPrintsParsableSnippets() throws {
        let added = try ClientRegistration.add(
            clientID: "billing", redirectURI: "https://billing.example.com/sso/callback",
            backChannelLogoutURI: "https://10.0.0.7:8443/sso/backchannel-logout")
        let text = added.text
        let entry = try Self.object(try Self.snippet(after: "Add to the login host's \"clients\" list:", in: text))
        #expect(entry["client_id"] as? String == "billing")
        #expect(entry["redirect_uris"] as? [String] == ["https://billing.example.com/sso/callback"])
        #expect(entry["backchannel_logout_uri"] as? String == "https://10.0.0.7:8443/sso/backchannel-logout")
        #expect(entry["client_secret"] == nil, "the login host's entry must not carry the secret")
        let hash = try #require(entry["client_secret_sha256"] as? String)

        // The relying party's lines are members of its configuration object.
        var members = try Self.snippet(after: "Add to the relying party's configuration:", in: text)
        if members.hasSuffix(",") { members.removeLast() }
        let rp = try Self.object("{" + members + "}")
        #expect(rp["client_id"] as? String == "billing")
        let secret = try #require(rp["client_secret"] as? String)
        #expect(secret == added.secret)
        #expect(Secrets.hash(secret) == hash)
        #expect(try #require(Base64URL.decode(secret)).count >= 32, "at least 256 random bits")
        #expect(text.components(separatedBy: secret).count == 2, "the secret is printed once")

        // Both snippets are accepted by the configuration readers, and the secret
        // authenticates against the registration.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-clients-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let login = """
            {"public_origin": "https://login.example.com", "database": "l.sqlite", "signing_keys": "k.json",
             "clients": [\(added.loginHostEntry)]}
            """
        try login.write(toFile: directory + "/login.json", atomically: true, encoding: .utf8)
        let relyingParty = """
            {\(added.relyingPartyMembers)
             "public_origin": "https://billing.example.com", "issuer": "https://login.example.com", "database": "b.sqlite"}
            """
        try relyingParty.write(toFile: directory + "/billing.json", atomically: true, encoding: .utf8)
        let loginFile = try LoginHostFile(path: directory + "/login.json")
        let rpFile = try RelyingPartyFile(path: directory + "/billing.json")
        #expect(rpFile.host.redirectURI == "https://billing.example.com/sso/callback")
        #expect(loginFile.host.clients.authenticate(clientID: "billing", secret: rpFile.host.clientSecret) != nil)
        #expect(loginFile.host.clients.authenticate(clientID: "billing", secret: rpFile.host.clientSecret + "x") == nil)
    }

    @Test("every run generates a new secret; without a logout URI the entry has none")
    func freshSecrets() throws {
        let one = try ClientRegistration.add(clientID: "a", redirectURI: "https://a.example.com/sso/callback")
        let two = try ClientRegistration.add(clientID: "a", redirectURI: "https://a.example.com/sso/callback")
        #expect(one.secret != two.secret)
        #expect(try Self.object(one.loginHostEntry)["backchannel_logout_uri"] == nil)
    }

    @Test("a bad client id or URI is refused naming it", arguments: [
        ("", "https://a.example.com/cb", nil, "client_id"),
        ("has space", "https://a.example.com/cb", nil, "client_id"),
        ("ok", "not a url", nil, "redirect_uri"),
        ("ok", "https://a.example.com/cb#frag", nil, "redirect_uri"),
        ("ok", "https://a.example.com/cb", "ftp://x/logout", "backchannel_logout_uri"),
    ] as [(String, String, String?, String)])
    func refusals(clientID: String, redirectURI: String, logoutURI: String?, field: String) {
        #expect(throws: ConfigurationError.self) {
            do {
                _ = try ClientRegistration.add(clientID: clientID, redirectURI: redirectURI, backChannelLogoutURI: logoutURI)
            } catch let error as ConfigurationError {
                #expect(error.field == field)
                throw error
            }
        }
    }

    static let secret31 = String(repeating: "s", count: 31)
    static let secret32 = String(repeating: "s", count: 32)

    @Test("a hand-written secret of 31 characters is a configuration error naming the field, in both files; 32 is accepted")
    func minimumSecretLength() throws {
        #expect(ClientRegistry.minimumSecretLength == 32)
        let login = """
            {"public_origin": "http://login.localhost:8080", "database": "x.sqlite", "signing_keys": "k.json",
             "clients": [{"client_id": "dashboard", "client_secret": "SECRET", "redirect_uris": ["http://d.localhost/cb"]}]}
            """
        let rp = """
            {"client_id": "dashboard", "client_secret": "SECRET", "public_origin": "http://d.localhost",
             "issuer": "http://login.localhost:8080", "database": "d.sqlite"}
            """
        for (template, isRP, field) in [(login, false, "clients[0].client_secret"), (rp, true, "client_secret")] {
            let short = try ConfigurationTests.error(template.replacingOccurrences(of: "SECRET", with: Self.secret31), rp: isRP)
            let error = try #require(short, "\(field)")
            #expect(error.field == field)
            #expect(error.description.contains("at least 32 characters"), "\(error)")
            #expect(try ConfigurationTests.error(template.replacingOccurrences(of: "SECRET", with: Self.secret32), rp: isRP) == nil)
        }
    }

    @Test("the demo's configuration files and the tests' hosts use secrets the readers accept")
    func demoSecretsAreLongEnough() throws {
        let login = try LoginHostFile(path: ConfigurationTests.demo + "/login.json")
        #expect(login.host.clients.clients.count == 3)
        for id in ["dashboard", "reports", "app"] {
            let file = try RelyingPartyFile(path: ConfigurationTests.demo + "/\(id).json")
            #expect(file.host.clientSecret.count >= ClientRegistry.minimumSecretLength)
        }
        // The test hosts and the demo generate theirs: 32 random bytes, 43 characters.
        #expect(Secrets.random().count >= ClientRegistry.minimumSecretLength)
    }
}

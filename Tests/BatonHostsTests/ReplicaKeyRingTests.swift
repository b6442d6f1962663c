import BatonCore
import BatonLogin
import BatonServer
import BatonTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `signing_keys: "database"` (PROTOCOL.md "Storage and replicas"): replicas of one login
/// host, from one configuration file, share the key ring in their store; a rotation by
/// `baton keys rotate --config` is published by every one within 5 s.
@Suite("Login-host replicas sharing the key ring in the store")
struct ReplicaKeyRingTests {
    static func configuration() throws -> (file: LoginHostFile, directory: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-replicas-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let json = """
            {"public_origin": "http://login.localhost:8080", "database": "shared.sqlite", "signing_keys": "database",
             "templates": "\(TestHosts.templateDirectory())", "bcrypt_cost": 4,
             "clients": [{"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef", "redirect_uris": ["http://d.localhost/cb"]}]}
            """
        try json.write(toFile: directory + "/login.json", atomically: true, encoding: .utf8)
        return (try LoginHostFile(path: directory + "/login.json"), directory)
    }

    /// The kids `host` publishes in its JWKS now.
    static func publishedKids(_ host: LoginHost) async throws -> [String] {
        try await Application(router: host.router()).test(.router) { client in
            let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
            let json = try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
            return (json?["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String }
        }
    }

    @Test("two replicas starting together create one ring; a rotation by baton keys rotate is published by both within 5 s")
    func oneRingOneRotation() async throws {
        let (file, directory) = try Self.configuration()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "baton.test.replicas")
        logger.logLevel = .critical
        // Each replica opens its own store, as separate processes do.
        async let first = HostAssembly.loginHost(file, logger: logger)
        async let second = HostAssembly.loginHost(file, logger: logger)
        let replicas = [try await first.host, try await second.host]
        let initial = try await Self.publishedKids(replicas[0])
        #expect(initial.count == 1)
        #expect(try await Self.publishedKids(replicas[1]) == initial)
        #expect(try await KeyManagement.list(file).contains(initial[0]))

        let printed = try await KeyManagement.rotate(file)
        #expect(printed.contains("is published in the JWKS now"))
        let listed = try await KeyManagement.list(file)
        let added = try #require(listed.split(separator: "\n").last.map { String($0.prefix { $0 != " " }) })
        #expect(added != initial[0])
        let start = ContinuousClock.now
        for replica in replicas {
            while try await Self.publishedKids(replica) != initial + [added] {
                try #require(ContinuousClock.now - start < .seconds(5), "a replica did not publish the rotation within 5 s")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

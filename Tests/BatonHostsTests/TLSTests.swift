import AsyncHTTPClient
import BatonCore
import BatonDashboard
import BatonLogin
import BatonServer
import BatonTestSupport
import BatonWeb
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOSSL
import ServiceLifecycle
import Testing

/// Self-signed certificates made by `openssl` in a temporary folder (P-256; names
/// login.localhost and 127.0.0.1), keys mode 0600.
struct CertificateFolder: Sendable {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `NAME.pem` and `NAME.key`, the certificate with serial `serial` (hex).
    @discardableResult
    func make(_ name: String, serial: String, subjectAltName: String = "DNS:login.localhost,IP:127.0.0.1") throws -> TLSFiles {
        let files = TLSFiles(certificate: "\(path)/\(name).pem", key: "\(path)/\(name).key")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", files.key, "-out",
            files.certificate, "-days", "2", "-subj", "/CN=Baton test \(name)", "-set_serial", "0x" + serial, "-addext",
            "subjectAltName=" + subjectAltName, "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw TLSTestError("openssl failed") }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: files.key)
        return files
    }

    /// Copies `source`'s pair over `target`'s, as a renewal would.
    func install(_ source: TLSFiles, over target: TLSFiles, keyMode: Int = 0o600) throws {
        for (from, to) in [(source.certificate, target.certificate), (source.key, target.key)] {
            try? FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
        try FileManager.default.setAttributes([.posixPermissions: keyMode], ofItemAtPath: target.key)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct TLSTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("TLS: HTTPS hosts, verified back channels, HSTS, certificate reload")
struct TLSTests {
    static var logger: Logger {
        var logger = Logger(label: "baton.test.tls")
        logger.logLevel = ProcessInfo.processInfo.environment["BATON_TEST_LOG"] == nil ? .critical : .debug
        return logger
    }

    @Test("tls, ca_file and hsts are read from either host's file, paths against its folder")
    func configuration() throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        try folder.make("server", serial: "01")
        let login = folder.path + "/login.json"
        try """
            {"public_origin": "https://login.localhost:9443", "database": "login.sqlite", "signing_keys": "keys.json",
             "tls": {"certificate": "server.pem", "key": "server.key"}, "ca_file": "server.pem",
             "hsts": {"max_age_seconds": 63072000, "include_subdomains": true},
             "clients": [{"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef",
                          "redirect_uris": ["https://dashboard.localhost:9444/sso/callback"]}]}
            """.write(toFile: login, atomically: true, encoding: .utf8)
        let file = try LoginHostFile(path: login)
        #expect(file.tls == TLSFiles(certificate: folder.path + "/server.pem", key: folder.path + "/server.key"))
        #expect(file.caFile?.path == folder.path + "/server.pem")
        #expect(file.caFile?.certificates.count == 1)
        #expect(file.host.strictTransportSecurity.header(forOrigin: file.host.publicOrigin) == "max-age=63072000; includeSubDomains")

        let rp = folder.path + "/dashboard.json"
        try """
            {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef",
             "public_origin": "https://dashboard.localhost:9444", "issuer": "https://login.localhost:9443",
             "database": "dashboard.sqlite", "tls": {"certificate": "server.pem", "key": "server.key"}, "ca_file": "server.pem"}
            """.write(toFile: rp, atomically: true, encoding: .utf8)
        let rpFile = try RelyingPartyFile(path: rp)
        #expect(rpFile.tls?.key == folder.path + "/server.key")
        #expect(rpFile.caFile?.path == folder.path + "/server.pem")
        // A year, this host only, unless configured.
        #expect(rpFile.host.strictTransportSecurity.header(forOrigin: rpFile.host.publicOrigin) == "max-age=31536000")
    }

    @Test("a bad tls or ca_file setting stops start-up naming the field")
    func badSettings() throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        try folder.make("server", serial: "01")
        try "not a certificate".write(toFile: folder.path + "/junk.pem", atomically: true, encoding: .utf8)
        func error(_ extra: String) throws -> String? {
            let path = folder.path + "/rp-\(UUID().uuidString).json"
            try """
                {"client_id": "dashboard", "client_secret": "0123456789abcdef0123456789abcdef",
                 "public_origin": "https://dashboard.localhost:9444", "issuer": "https://login.localhost:9443",
                 "database": "dashboard.sqlite", \(extra)}
                """.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                let file = try RelyingPartyFile(path: path)
                if let tls = file.tls { _ = try ServerCertificate(files: tls) }
                return nil
            } catch let error as ConfigurationError {
                return error.field
            }
        }
        #expect(try error(#""ca_file": "junk.pem""#) == "ca_file")
        #expect(try error(#""ca_file": "missing.pem""#) == "ca_file")
        #expect(try error(#""tls": {"certificate": "server.pem"}"#) == "tls.key")
        #expect(try error(#""tls": {"certificate": "server.pem", "key": "server.key", "verify": false}"#) == "tls.verify")
        #expect(try error(#""tls": {"certificate": "junk.pem", "key": "server.key"}"#) == "tls.certificate")
        #expect(try error(#""hsts": {"max_age_seconds": 86400}"#) == "hsts.max_age_seconds")
        // No setting turns verification off.
        #expect(try error(#""tls_verify": false"#) == "tls_verify")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: folder.path + "/server.key")
        #expect(try error(#""tls": {"certificate": "server.pem", "key": "server.key"}"#) == "tls.key")
    }

    @Test("a reload swaps the pair; a broken certificate, a foreign key or a readable key keeps the old one")
    func reload() throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        let live = try folder.make("live", serial: "1001")
        let next = try folder.make("next", serial: "1002")
        let other = try folder.make("other", serial: "1003")
        let certificate = try ServerCertificate(files: live)
        #expect(certificate.serial == "1001")
        let before = certificate.context

        try folder.install(next, over: live)
        #expect(try certificate.reload() == "1002")
        #expect(certificate.serial == "1002")
        #expect(certificate.context !== before)

        try "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n".write(
            toFile: live.certificate, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) { try certificate.reload() }
        #expect(certificate.serial == "1002")

        // next's certificate with other's key: BoringSSL refuses the pair.
        try FileManager.default.removeItem(atPath: live.certificate)
        try FileManager.default.copyItem(atPath: next.certificate, toPath: live.certificate)
        try FileManager.default.removeItem(atPath: live.key)
        try FileManager.default.copyItem(atPath: other.key, toPath: live.key)
        #expect(throws: ConfigurationError.self) { try certificate.reload() }
        #expect(certificate.serial == "1002")

        try folder.install(other, over: live, keyMode: 0o644)
        let readable = #expect(throws: ConfigurationError.self) { try certificate.reload() }
        #expect(readable?.field == "tls.key")
        #expect(certificate.serial == "1002")
    }

    /// A TLS server as `baton serve` runs one, answering `/api/sessions/:sid` with 404.
    static func serveTLS(_ files: TLSFiles, _ body: @Sendable (Int, ServerCertificate) async throws -> Void) async throws {
        let router = Router(context: BatonRequestContext.self)
        router.get("/api/sessions/:sid") { _, _ in Response(status: .notFound) }
        router.get("/healthz") { _, _ in "ok" }
        let certificate = try ServerCertificate(files: files)
        let (ready, readyContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = HostAssembly.application(
            router: router, listen: ListenAddress(port: 0), tls: certificate, logger: logger,
            onServerRunning: { readyContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { readyContinuation.finish() }
                try await group.run()
            }
            var port: Int?
            for await bound in ready {
                port = bound
                break
            }
            let outcome: Result<Void, any Error>
            if let port {
                do { outcome = .success(try await body(port, certificate)) } catch { outcome = .failure(error) }
            } else {
                outcome = .failure(TLSTestError("the TLS server did not start"))
            }
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            try outcome.get()
        }
    }

    /// What `lookUp` says of an unknown sid at `url` through `http`: `.sessionEnded` when
    /// the login host answered (a 404), `.storeUnavailable` when it could not be asked.
    static func lookUp(_ url: String, trusting roots: [NIOSSLCertificate]?) async -> BatonError? {
        let http = BackChannelClient.makeHTTPClient(trustRoots: roots)
        let client = BackChannelClient(http: http, baseURL: url, clientID: "dashboard", clientSecret: "secret", trustRoots: roots)
        let outcome: BatonError?
        do {
            _ = try await client.lookUp(sid: "unknown")
            outcome = nil
        } catch {
            outcome = error
        }
        try? await http.shutdown()
        return outcome
    }

    @Test("the back channel trusts the login host's certificate only through ca_file, and checks the name")
    func backChannelVerifiesTheLoginHost() async throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        let files = try folder.make("login", serial: "01")
        let roots = try NIOSSLCertificate.fromPEMFile(files.certificate)
        try await Self.serveTLS(files) { port, _ in
            // Trusted through the bundle, verified for the IP the back channel dials.
            #expect(await Self.lookUp("https://127.0.0.1:\(port)", trusting: roots) == .sessionEnded)
            // The system's trust store does not know a self-signed certificate: fail closed.
            #expect(await Self.lookUp("https://127.0.0.1:\(port)", trusting: nil) == .storeUnavailable)
        }
        // The name is checked. (swift-nio-ssl also accepts a certificate whose IP address
        // names the address dialled, whatever the name: so these two carry no IP.)
        for (names, accepted) in [("DNS:localhost", true), ("DNS:login.localhost", false)] {
            let named = try folder.make("named", serial: accepted ? "02" : "03", subjectAltName: names)
            let trusted = try NIOSSLCertificate.fromPEMFile(named.certificate)
            try await Self.serveTLS(named) { port, _ in
                let outcome = await Self.lookUp("https://localhost:\(port)", trusting: trusted)
                #expect(outcome == (accepted ? .sessionEnded : .storeUnavailable), "\(names): \(String(describing: outcome))")
            }
        }
    }

    @Test("plain HTTP sent to a TLS port gets no answer, only a closed connection")
    func plainHTTPIsClosed() async throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        let files = try folder.make("login", serial: "01")
        try await Self.serveTLS(files) { port, _ in
            for request in ["GET /healthz HTTP/1.1\r\nHost: login.localhost\r\n\r\n", "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", "hello\r\n\r\n"] {
                let client = try await RawClient.connect(port: port)
                try await client.send(request)
                let closed = await client.waitUntilClosed(within: .seconds(5))
                #expect(closed != nil, "\(request.debugDescription): still open")
                #expect(client.receivedText.contains("HTTP/") == false, "\(request.debugDescription): \(client.receivedText.debugDescription)")
                await client.close()
            }
            #expect(await Self.lookUp("https://127.0.0.1:\(port)", trusting: try NIOSSLCertificate.fromPEMFile(files.certificate)) == .sessionEnded)
        }
    }

    @Test("after a reload new connections get the new certificate and open ones are still served")
    func reloadKeepsConnections() async throws {
        let folder = try CertificateFolder()
        defer { folder.remove() }
        let first = try folder.make("first", serial: "1001")
        let next = try folder.make("next", serial: "1002")
        let live = TLSFiles(certificate: folder.path + "/live.pem", key: folder.path + "/live.key")
        try folder.install(first, over: live)
        let oldRoots = try NIOSSLCertificate.fromPEMFile(first.certificate)
        let newRoots = try NIOSSLCertificate.fromPEMFile(next.certificate)
        try await Self.serveTLS(live) { port, certificate in
            // A client holding one keep-alive connection, made before the reload, that
            // trusts only the first certificate: it can go on only on that connection.
            var configuration = HTTPClient.Configuration()
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(oldRoots)
            configuration.tlsConfiguration = tls
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
            let pooled = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let url = "https://127.0.0.1:\(port)/healthz"
            let before = try await pooled.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            _ = try await before.body.collect(upTo: 1024)

            try folder.install(next, over: live)
            #expect(try certificate.reload() == "1002")
            let after = try? await pooled.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            _ = try? await after?.body.collect(upTo: 1024)
            try? await pooled.shutdown()
            #expect(before.status == .ok)
            #expect(after?.status == .ok, "the connection opened before the reload was not served")
            // New handshakes: the new certificate only.
            #expect(await Self.lookUp("https://127.0.0.1:\(port)", trusting: newRoots) == .sessionEnded)
            #expect(await Self.lookUp("https://127.0.0.1:\(port)", trusting: oldRoots) == .storeUnavailable)
        }
    }

    @Test("HSTS on every response of a host whose public origin is https, never on an http one")
    func strictTransportSecurity() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-hsts-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (origin, expected) in [("https://login.example.com", "max-age=31536000"), ("http://login.localhost:8080", nil)] {
            let file = LoginHostFile(
                listen: ListenAddress(port: 0), host: LoginHostConfiguration(publicOrigin: origin, clients: ClientRegistry([])),
                database: .sqlite(path: directory + "/login-\(UUID().uuidString).sqlite"), signingKeys: .file(directory + "/keys.json"),
                templates: TestHosts.templateDirectory(), bcryptCost: 4)
            let (host, store) = try await HostAssembly.loginHost(file, logger: Self.logger)
            try await Application(router: host.router()).test(.router) { client in
                // Whatever the request says about its scheme: configuration decides.
                for (path, headers) in [("/healthz", [:]), ("/login", [:]), ("/no-such-page", [:]), ("/handoff?client_id=x", [:]),
                    ("/healthz", [HTTPField.Name("X-Forwarded-Proto")!: "http"])] as [(String, HTTPFields)] {
                    try await client.execute(uri: path, method: .get, headers: headers) { response in
                        #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!] == expected, "\(origin)\(path) → \(response.status)")
                    }
                }
            }
            await store.shutdown()
        }
    }
}

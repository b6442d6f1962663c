import BatonCore
import BatonDashboard
import BatonLogin
import BatonSQLite
import Foundation

/// `baton demo`: the login host on 8080 and two relying parties (`dashboard` on 8081,
/// `reports` on 8082), all on 127.0.0.1, with state under one data directory. The
/// files in `Demo/` describe the same hosts for `baton serve`.
public struct DemoSetup: Sendable {
    public static let loginOrigin = "http://login.localhost:8080"
    public static let username = "alice"
    public static let password = "wonderland"
    public static let displayName = "Alice Liddell"

    /// The relying parties of the demo: client id, title, port.
    public static let relyingParties: [(id: String, title: String, port: Int)] = [
        ("dashboard", "Dashboard", 8081), ("reports", "Reports", 8082),
    ]

    public let dataDirectory: String
    public let login: LoginHostFile
    public let relyingPartyFiles: [RelyingPartyFile]

    /// The demo under `dataDirectory`, creating it and its client secrets (0600) on
    /// first start; `portOffset` moves every port (for tests that run beside a demo).
    public init(dataDirectory: String, templates: String? = nil, bcryptCost: Int = 11) throws {
        self.dataDirectory = dataDirectory
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        chmod(dataDirectory, 0o700)
        let secrets = try Self.clientSecrets(in: dataDirectory)
        let login = try LoginHostFile.make(
            origin: Self.loginOrigin, port: 8080, database: dataDirectory + "/login.sqlite",
            signingKeys: dataDirectory + "/login-signing-keys.json", templates: templates, bcryptCost: bcryptCost,
            clients: Self.relyingParties.map { rp in
                ClientRegistry.Client(
                    clientID: rp.id, redirectURIs: ["http://\(rp.id).localhost:\(rp.port)/sso/callback"],
                    secretHash: Secrets.hash(secrets[rp.id] ?? ""),
                    backChannelLogoutURI: "http://127.0.0.1:\(rp.port)/sso/backchannel-logout")
            })
        self.login = login
        self.relyingPartyFiles = Self.relyingParties.map { rp in
            RelyingPartyFile.make(
                port: rp.port,
                host: RelyingPartyConfiguration(
                    clientID: rp.id, clientSecret: secrets[rp.id] ?? "", title: rp.title,
                    publicOrigin: "http://\(rp.id).localhost:\(rp.port)", issuer: Self.loginOrigin,
                    loginBackChannelURL: "http://127.0.0.1:8080"),
                database: dataDirectory + "/\(rp.id).sqlite", templates: templates)
        }
    }

    /// Creates alice on first start; later starts leave her as she is.
    public func ensureDemoUser(store: SQLiteStore, clock: any BatonClock = SystemClock()) async throws -> Bool {
        if try await store.user(username: Self.username) != nil { return false }
        let hash = await PasswordHasher(cost: UInt8(login.bcryptCost)).hash(Self.password)
        try await store.insertUser(
            User(id: Secrets.random(bytes: 16), username: Self.username, displayName: Self.displayName, passwordHash: hash,
                createdAt: clock.now()))
        return true
    }

    private static func clientSecrets(in directory: String) throws -> [String: String] {
        let path = directory + "/demo-client-secrets.json"
        if let data = FileManager.default.contents(atPath: path),
            let secrets = try? JSONDecoder().decode([String: String].self, from: data),
            relyingParties.allSatisfy({ (secrets[$0.id]?.utf8.count ?? 0) >= 16 })
        {
            return secrets
        }
        let secrets = Dictionary(uniqueKeysWithValues: relyingParties.map { ($0.id, Secrets.random(bytes: 32)) })
        guard FileManager.default.createFile(atPath: path, contents: try JSONEncoder().encode(secrets), attributes: [.posixPermissions: 0o600])
        else { throw ConfigurationError(field: "--data-dir", message: "cannot write \(path)") }
        return secrets
    }
}

extension LoginHostFile {
    static func make(
        origin: String, port: Int, database: String, signingKeys: String, templates: String?, bcryptCost: Int,
        clients: [ClientRegistry.Client]
    ) throws -> LoginHostFile {
        LoginHostFile(
            listen: ListenAddress(port: port), host: LoginHostConfiguration(publicOrigin: origin, clients: ClientRegistry(clients)),
            database: database, signingKeys: signingKeys, templates: templates, bcryptCost: bcryptCost)
    }

    /// A configuration built in code (tests, the demo).
    public init(
        listen: ListenAddress, host: LoginHostConfiguration, database: String, signingKeys: String, templates: String?,
        bcryptCost: Int
    ) {
        self.listen = listen
        self.host = host
        self.database = database
        self.signingKeys = signingKeys
        self.templates = templates
        self.bcryptCost = bcryptCost
    }
}

extension RelyingPartyFile {
    static func make(port: Int, host: RelyingPartyConfiguration, database: String, templates: String?) -> RelyingPartyFile {
        RelyingPartyFile(listen: ListenAddress(port: port), host: host, database: database, templates: templates, trustedKeys: nil)
    }

    /// A configuration built in code (tests, the demo).
    public init(listen: ListenAddress, host: RelyingPartyConfiguration, database: String, templates: String?, trustedKeys: String?) {
        self.listen = listen
        self.host = host
        self.database = database
        self.templates = templates
        self.trustedKeys = trustedKeys
    }
}

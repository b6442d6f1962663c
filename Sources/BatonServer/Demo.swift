import BatonCore
import BatonDashboard
import BatonLogin
import BatonWeb
import Foundation

/// `baton demo`: the login host on 8080 and three relying parties (`dashboard` on 8081,
/// `reports` on 8082, and `app` on 8083: the forward-auth relying party of an app that
/// a reverse proxy serves on 8090), all on 127.0.0.1, with state under one data
/// directory. The files in `Demo/` describe the same hosts for `baton serve`.
public struct DemoSetup: Sendable {
    public static let loginOrigin = "http://login.localhost:8080"
    public static let username = "alice"
    public static let password = "wonderland"
    public static let displayName = "Alice Liddell"
    public static let email = "alice@example.com"
    public static let groups = ["staff"]

    /// One relying party of the demo: where it listens, and its public origin (the
    /// proxy's, for `app`).
    public struct RelyingParty: Sendable {
        public let id: String
        public let title: String
        public let port: Int
        public let publicOrigin: String
    }

    public static let relyingParties: [RelyingParty] = [
        RelyingParty(id: "dashboard", title: "Dashboard", port: 8081, publicOrigin: "http://dashboard.localhost:8081"),
        RelyingParty(id: "reports", title: "Reports", port: 8082, publicOrigin: "http://reports.localhost:8082"),
        RelyingParty(id: "app", title: "App", port: 8083, publicOrigin: "http://app.localhost:8090"),
    ]

    public let dataDirectory: String
    /// Every demo host's `metrics_token`: made once per data directory (0600), printed at start.
    public let metricsToken: String
    public let login: LoginHostFile
    public let relyingPartyFiles: [RelyingPartyFile]

    /// The demo under `dataDirectory`, creating it and its client secrets (0600) on
    /// first start; `portOffset` moves every port (for tests that run beside a demo).
    public init(dataDirectory: String, templates: String? = nil, bcryptCost: Int = 11) throws {
        self.dataDirectory = dataDirectory
        try PrivateFiles.makeDirectory(dataDirectory)
        chmod(dataDirectory, 0o700)
        let secrets = try Self.clientSecrets(in: dataDirectory)
        let metricsToken = try Self.metricsToken(in: dataDirectory)
        self.metricsToken = metricsToken
        var login = try LoginHostFile.make(
            origin: Self.loginOrigin, port: 8080, database: .sqlite(path: dataDirectory + "/login.sqlite"),
            signingKeys: .file(dataDirectory + "/login-signing-keys.json"), templates: templates, bcryptCost: bcryptCost,
            clients: Self.relyingParties.map { rp in
                ClientRegistry.Client(
                    clientID: rp.id, redirectURIs: [rp.publicOrigin + "/sso/callback"],
                    secretHash: Secrets.hash(secrets[rp.id] ?? ""),
                    backChannelLogoutURI: "http://127.0.0.1:\(rp.port)/sso/backchannel-logout")
            })
        login.host.metricsToken = metricsToken
        self.login = login
        self.relyingPartyFiles = Self.relyingParties.map { rp in
            RelyingPartyFile.make(
                port: rp.port,
                host: RelyingPartyConfiguration(
                    clientID: rp.id, clientSecret: secrets[rp.id] ?? "", title: rp.title,
                    publicOrigin: rp.publicOrigin, issuer: Self.loginOrigin,
                    loginBackChannelURL: "http://127.0.0.1:8080", metricsToken: metricsToken),
                database: .sqlite(path: dataDirectory + "/\(rp.id).sqlite"), templates: templates)
        }
    }

    /// Creates alice on first start; later starts leave her as she is (but give a
    /// demo's alice from before email and groups existed hers).
    public func ensureDemoUser(store: any UserStore, clock: any BatonClock = SystemClock()) async throws -> Bool {
        if let alice = try await store.user(username: Self.username) {
            if alice.email.isEmpty, alice.groups.isEmpty {
                _ = try await store.updateUser(username: Self.username, displayName: nil, email: Self.email, groups: Self.groups)
            }
            return false
        }
        let hash = await PasswordHasher(cost: UInt8(login.bcryptCost)).hash(Self.password)
        try await store.insertUser(
            User(
                id: Secrets.random(bytes: 16), username: Self.username, displayName: Self.displayName, email: Self.email,
                groups: Self.groups, passwordHash: hash, createdAt: clock.now()))
        return true
    }

    /// The token kept in `demo-metrics-token`, or a new one of 256 random bits.
    private static func metricsToken(in directory: String) throws -> String {
        let path = directory + "/demo-metrics-token"
        if let data = FileManager.default.contents(atPath: path),
            case let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
            MetricsEndpoint.isAcceptable(token)
        {
            return token
        }
        let token = Secrets.random(bytes: 32)
        try PrivateFiles.replace(path, with: Data((token + "\n").utf8))
        return token
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
        try PrivateFiles.replace(path, with: try JSONEncoder().encode(secrets))
        return secrets
    }
}

extension LoginHostFile {
    static func make(
        origin: String, port: Int, database: StoreLocation, signingKeys: SigningKeysLocation, templates: String?, bcryptCost: Int,
        clients: [ClientRegistry.Client]
    ) throws -> LoginHostFile {
        LoginHostFile(
            listen: ListenAddress(port: port), host: LoginHostConfiguration(publicOrigin: origin, clients: ClientRegistry(clients)),
            database: database, signingKeys: signingKeys, templates: templates, bcryptCost: bcryptCost)
    }

    /// A configuration built in code (tests, the demo).
    public init(
        listen: ListenAddress, host: LoginHostConfiguration, database: StoreLocation, signingKeys: SigningKeysLocation, templates: String?,
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
    static func make(port: Int, host: RelyingPartyConfiguration, database: StoreLocation, templates: String?) -> RelyingPartyFile {
        RelyingPartyFile(listen: ListenAddress(port: port), host: host, database: database, templates: templates, trustedKeys: nil)
    }

    /// A configuration built in code (tests, the demo).
    public init(listen: ListenAddress, host: RelyingPartyConfiguration, database: StoreLocation, templates: String?, trustedKeys: String?) {
        self.listen = listen
        self.host = host
        self.database = database
        self.templates = templates
        self.trustedKeys = trustedKeys
    }
}

import ArgumentParser
import BatonCore
import BatonServer
import Foundation
import Logging

/// Where a store-acting command finds the login host: `--config FILE` or the demo's
/// `--data-dir DIR` (PROTOCOL.md "Running it").
struct LoginStoreOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The login host's configuration file.")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "The demo's data directory (instead of --config).")
    var dataDirectory: String?

    func validate() throws {
        guard (config == nil) != (dataDirectory == nil) else {
            throw ValidationError("give exactly one of --config FILE or --data-dir DIR")
        }
    }

    func loginFile() throws -> LoginHostFile {
        if let config { return try LoginHostFile(path: config) }
        return try DemoSetup(dataDirectory: dataDirectory!).login
    }

    /// The login host's store, as its `database` names it.
    func openStore(_ file: LoginHostFile) async throws -> any BatonStore {
        try await StoreFactory.open(file.database, poolSize: min(file.databasePoolSize, 2), logger: Logger(label: "baton.cli"))
    }
}

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "List and end login sessions.", subcommands: [List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's login sessions.")

        @Argument(help: "The username.")
        var user: String

        @OptionGroup var store: LoginStoreOptions

        func run() async throws {
            let database = try await store.openStore(try store.loginFile())
            guard let account = try await database.user(username: user) else { throw ValidationError("no user \(user)") }
            let sessions = try await database.loginSessions(userID: account.id)
            if sessions.isEmpty { print("\(user) has no login sessions") }
            for session in sessions {
                let sites = try await database.clientsHandedTo(sid: session.sid)
                print(
                    "\(session.sid)  started \(session.authTime.formatted(.iso8601))  last seen \(session.lastSeen.formatted(.iso8601))"
                        + "  ends \(session.expiresAt.formatted(.iso8601))  sites: \(sites.isEmpty ? "-" : sites.joined(separator: ","))"
                        + "  \(session.userAgent)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a login session, or all of a user's, and queue back-channel logout to every site that used them.",
            discussion: "A running login host delivers the queued logouts within a second.")

        @Argument(help: "The session's sid (from `baton sessions list`).")
        var sid: String?

        @Option(help: "End every session of this user instead.")
        var user: String?

        @OptionGroup var store: LoginStoreOptions

        func validate() throws {
            guard (sid == nil) != (user == nil) else { throw ValidationError("give a SID or --user USER") }
        }

        func run() async throws {
            let database = try await store.openStore(try store.loginFile())
            var sids: [String] = []
            if let sid { sids = [sid] }
            if let user {
                guard let account = try await database.user(username: user) else { throw ValidationError("no user \(user)") }
                sids = try await database.loginSessions(userID: account.id).map(\.sid)
            }
            var ended = 0
            for sid in sids {
                if let clients = try await database.endLoginSession(sid: sid, queueLogoutAt: Date()) {
                    ended += 1
                    print("ended \(sid); back-channel logout queued for: \(clients.isEmpty ? "no site" : clients.joined(separator: ", "))")
                }
            }
            if ended == 0 { throw ValidationError("no such session") }
        }
    }
}

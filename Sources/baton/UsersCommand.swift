import ArgumentParser
import BatonCore
import BatonServer
import Foundation

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage the login host's users.", subcommands: [Add.self, Update.self, List.self])

    /// `--email` and `--group`, checked the same way by `add` and `update`.
    struct Profile: ParsableArguments {
        @Option(name: .customLong("display-name"), help: "The name shown on pages and sent as Baton-Name.")
        var displayName: String?

        @Option(help: "The email address sent to relying parties (Baton-Email).")
        var email: String?

        @Option(name: .customLong("group"), help: "A group the user is in (repeat for several): 1 to 64 characters of A-Za-z0-9._-")
        var groups: [String] = []

        func validate() throws {
            if let displayName {
                guard (1...128).contains(displayName.count), displayName.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control }) else {
                    throw ValidationError("--display-name must be 1 to 128 characters without control characters")
                }
            }
            if let email, !email.isEmpty, !EmailAddress.isValid(email) {
                throw ValidationError("--email \(email.debugDescription) is not an address like alice@example.com (printable ASCII, one @)")
            }
            if let bad = groups.first(where: { !GroupName.isValid($0) }) {
                throw ValidationError("--group \(bad.debugDescription) is not a group name: 1 to 64 characters of A-Za-z0-9._-")
            }
        }

        /// The groups, each once, in the order given.
        var uniqueGroups: [String] {
            var seen = Set<String>()
            return groups.filter { seen.insert($0).inserted }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user, reading the password from standard input (never from the command line).")

        @Argument(help: "The username: 1 to 64 characters of A-Za-z0-9._-@")
        var name: String

        @OptionGroup var profile: Profile

        @OptionGroup var store: LoginStoreOptions

        func validate() throws {
            guard Username.isValid(name) else {
                throw ValidationError("a username is 1 to 64 characters of A-Za-z0-9 . _ - @")
            }
        }

        func run() async throws {
            let login = try store.loginFile()
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on standard input")
            }
            guard line.utf8.count >= 8, PasswordHasher.isAcceptable(line) else {
                throw ValidationError(
                    "the password must be 8 to \(PasswordHasher.maximumPasswordBytes) bytes, without NUL: bcrypt ignores anything after")
            }
            let store = try await self.store.openStore(login)
            let hash = await PasswordHasher(cost: UInt8(login.bcryptCost)).hash(line)
            if try await store.user(username: name) != nil {
                throw ValidationError("user \(name) already exists")
            }
            try await store.insertUser(
                User(
                    id: Secrets.random(bytes: 16), username: name, displayName: profile.displayName ?? name, email: profile.email ?? "",
                    groups: profile.uniqueGroups, passwordHash: hash, createdAt: Date()))
            print("added \(name)")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a user's display name, email or groups.",
            discussion: """
                Only what is given changes. --group replaces every group with the ones given; --no-groups removes them all; \
                --email "" forgets the address. Relying parties see the change at their next revalidation \
                (revalidate_seconds, 30 by default).
                """)

        @Argument(help: "The username.")
        var name: String

        @OptionGroup var profile: Profile

        @Flag(name: .customLong("no-groups"), help: "Remove the user from every group.")
        var noGroups = false

        @OptionGroup var store: LoginStoreOptions

        func validate() throws {
            if noGroups, !profile.groups.isEmpty { throw ValidationError("give --group or --no-groups, not both") }
            guard profile.displayName != nil || profile.email != nil || !profile.groups.isEmpty || noGroups else {
                throw ValidationError("nothing to change: give --display-name, --email, --group or --no-groups")
            }
        }

        mutating func run() async throws {
            let store = try await self.store.openStore(try self.store.loginFile())
            let groups: [String]? = noGroups ? [] : (profile.groups.isEmpty ? nil : profile.uniqueGroups)
            guard try await store.updateUser(username: name, displayName: profile.displayName, email: profile.email, groups: groups) else {
                throw ValidationError("no user \(name)")
            }
            print("updated \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the users: username, display name, email, groups.")

        @OptionGroup var store: LoginStoreOptions

        func run() async throws {
            let store = try await self.store.openStore(try self.store.loginFile())
            for user in try await store.users() {
                print(
                    [user.username, user.displayName, user.email.isEmpty ? "-" : user.email, user.groups.isEmpty ? "-" : GroupName.joined(user.groups)]
                        .joined(separator: "\t"))
            }
        }
    }
}

import ArgumentParser
import BatonCore
import BatonSQLite
import BatonServer
import Foundation

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage the login host's users.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user, reading the password from standard input (never from the command line).")

        @Argument(help: "The username.")
        var name: String

        @Option(name: .customLong("display-name"), help: "The name shown on pages (the username by default).")
        var displayName: String?

        @OptionGroup var store: LoginStoreOptions

        func validate() throws {
            guard (1...64).contains(name.utf8.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "._-@".contains($0) }) else {
                throw ValidationError("a username is 1 to 64 letters, digits or . _ - @")
            }
        }

        func run() async throws {
            let login = try store.loginFile()
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on standard input")
            }
            guard line.utf8.count >= 8, line.utf8.count <= 1024 else {
                throw ValidationError("the password must be 8 to 1024 bytes")
            }
            let store = try SQLiteStore(path: login.database)
            let hash = await PasswordHasher(cost: UInt8(login.bcryptCost)).hash(line)
            if try await store.user(username: name) != nil {
                throw ValidationError("user \(name) already exists")
            }
            try await store.insertUser(
                User(id: Secrets.random(bytes: 16), username: name, displayName: displayName ?? name, passwordHash: hash, createdAt: Date()))
            print("added \(name)")
        }
    }
}

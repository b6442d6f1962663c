import ArgumentParser
import BatonServer
import Foundation

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Rotate and list the login host's signing keys.", subcommands: [Rotate.self, List.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new signing key: published at once, signing after key_activation_delay_seconds (60 by default).",
            discussion: """
                The previous key stops signing when the new one starts, and stays in the JWKS for 180 s more, until \
                every token it signed has expired; a later rotation or start-up prunes it from the key file. A running \
                login host picks the change up within a second from a key file, within 5 s from the database \
                (signing_keys: "database").
                """)

        @OptionGroup var store: LoginStoreOptions

        func run() async throws {
            print(try await KeyManagement.rotate(try store.loginFile()))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the signing keys: kid, algorithm, created, state (pending, active, retiring until TIME, expired).")

        @OptionGroup var store: LoginStoreOptions

        func run() async throws {
            print(try await KeyManagement.list(try store.loginFile()))
        }
    }
}

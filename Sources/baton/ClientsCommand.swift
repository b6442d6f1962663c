import ArgumentParser
import BatonCore
import BatonServer

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "Register relying parties with the login host.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a client secret (256 random bits) and print the two configuration snippets.",
            discussion: """
                Prints the login host's clients[] entry, which carries only the secret's SHA-256 \
                (client_secret_sha256), and the relying party's client_id and client_secret lines. Nothing is \
                written: put each snippet in its configuration file. The secret is shown only now.
                """)

        @Argument(help: "The relying party's client_id: 1 to 64 characters of A-Za-z0-9._-")
        var clientID: String

        @Option(name: .customLong("redirect-uri"), help: "Its exact redirect_uri, e.g. https://app.example.com/sso/callback.")
        var redirectURI: String

        @Option(name: .customLong("backchannel-logout-uri"), help: "Where the login host posts its back-channel logout tokens.")
        var backChannelLogoutURI: String?

        func run() async throws {
            do {
                print(try ClientRegistration.add(clientID: clientID, redirectURI: redirectURI, backChannelLogoutURI: backChannelLogoutURI).text)
            } catch let error as ConfigurationError {
                let argument = ["client_id": "CLIENT_ID", "redirect_uri": "--redirect-uri", "backchannel_logout_uri": "--backchannel-logout-uri"]
                throw ValidationError("\(argument[error.field] ?? error.field) \(error.message)")
            }
        }
    }
}

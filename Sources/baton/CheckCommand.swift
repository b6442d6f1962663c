import ArgumentParser
import BatonCore
import BatonServer
import Foundation

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a login host's or a relying party's configuration file as start-up does, without opening its database.",
        discussion: "Prints the effective settings with every secret hidden; exits 1 with a message naming the field on an error.")

    @Option(name: .customLong("config"), help: "The configuration file.")
    var config: String

    func run() async throws {
        do {
            print(try await ConfigurationCheck.check(path: config))
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

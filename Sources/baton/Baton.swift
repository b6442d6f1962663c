import ArgumentParser
import BatonServer
import Foundation
import Logging

/// `baton`: the command line of PROTOCOL.md "Running it".
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "Cross-domain single sign-on with one-time handoff tokens.",
        subcommands: [
            DemoCommand.self, ServeCommand.self, CheckCommand.self, UsersCommand.self, ClientsCommand.self, KeysCommand.self,
            SessionsCommand.self,
            AttackCommand.self,
        ])
}

/// What every command does first: files it creates private (umask 077: keys, secrets,
/// databases and their -wal/-shm), logging, and the open-file limit raised to the hard
/// one, since each connection (a host's, or the attack suite's) is a file descriptor.
@main
enum Entry {
    static func main() async {
        umask(0o077)
        bootstrapLogging()
        // Nothing logged here on success: a host file's `log_format` is not read yet, and
        // the hosts log the limit they got beside their connection caps.
        if OpenFileLimit.raiseToHard() == nil {
            Logger(label: "baton").warning("cannot read the open-file limit (RLIMIT_NOFILE)")
        }
        await Baton.main()
    }
}

/// Log lines go to standard error at BATON_LOG_LEVEL (info by default), as text or, with
/// BATON_LOG_FORMAT=json, one JSON object a line; a host file's `log_format` may say
/// otherwise once it is read.
func bootstrapLogging() {
    let environment = ProcessInfo.processInfo.environment
    let level = environment["BATON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    var problem: String?
    do {
        LogOutput.format = try LogOutput.format(environment: environment) ?? .text
    } catch {
        problem = "\(error)"
    }
    LogOutput.bootstrap(level: level)
    if let problem { Logger(label: "baton").warning("\(problem); writing text") }
}

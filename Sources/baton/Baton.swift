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
        let logger = Logger(label: "baton")
        if let limit = OpenFileLimit.raiseToHard() {
            logger.debug("open-file limit (RLIMIT_NOFILE)", metadata: ["soft": "\(limit.soft)", "hard": "\(limit.hard)"])
        } else {
            logger.warning("cannot read the open-file limit (RLIMIT_NOFILE)")
        }
        await Baton.main()
    }
}

/// Log lines go to standard error at BATON_LOG_LEVEL (info by default).
func bootstrapLogging() {
    let level = ProcessInfo.processInfo.environment["BATON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}

import BatonCore
import Foundation

/// How long a request may take to arrive and how many connections a host holds
/// (`request_timeout_seconds`, `max_connections`, on both hosts' files).
public struct ConnectionSettings: Sendable, Equatable {
    /// Time from a request's first byte to its end; a client that takes longer is
    /// cut off, so a trickled head or body cannot hold a connection for days.
    public var requestTimeout: Duration
    /// Connections beyond this many are closed at once. Each one is a file
    /// descriptor: the cap is what a flood runs into, not the process's limit.
    public var maxConnections: Int
    /// How long a keep-alive connection may wait, silent, for its next request.
    public var idleTimeout: Duration
    /// On SIGTERM or SIGINT: how long requests in flight may take to finish before the
    /// host stops anyway (`shutdown_timeout_seconds`).
    public var shutdownTimeout: Duration = .seconds(defaultShutdownTimeoutSeconds)

    public static let defaultShutdownTimeoutSeconds = 10

    public static let defaultRequestTimeoutSeconds = 10
    public static let defaultMaxConnections = 10_000

    /// File descriptors kept out of every connection cap: the SQLite pool (a database,
    /// WAL and shared-memory file for each of its connections), the back-channel
    /// client's pool, the event loops' own descriptors and the standard streams.
    public static let reservedFileDescriptors = 256

    /// The defaults: 10 s a request, 10,000 connections, 30 s idle.
    public init(
        requestTimeout: Duration = .seconds(defaultRequestTimeoutSeconds), maxConnections: Int = defaultMaxConnections,
        idleTimeout: Duration = .seconds(30)
    ) {
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }

    static func read(_ reader: inout ConfigReader) throws -> ConnectionSettings {
        var settings = ConnectionSettings(
            requestTimeout: .seconds(try reader.int("request_timeout_seconds", default: defaultRequestTimeoutSeconds, range: 1...300)),
            maxConnections: try reader.int("max_connections", default: defaultMaxConnections, range: 1...1_000_000))
        settings.shutdownTimeout = .seconds(
            try reader.int("shutdown_timeout_seconds", default: defaultShutdownTimeoutSeconds, range: 1...300))
        return settings
    }

    /// These settings with `max_connections` lowered, if need be, to this host's share of
    /// the open-file limit (`openFiles`, shared by `hosts` in one process) less the
    /// reserve: a host that reached the limit could accept nobody, not even the
    /// connections its cap still admits, and could not open its store.
    public func fitting(openFiles: Int, hosts: Int) -> ConnectionSettings {
        var fitted = self
        fitted.maxConnections = min(maxConnections, max(1, (openFiles - Self.reservedFileDescriptors) / max(1, hosts)))
        return fitted
    }
}

import BatonCore
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How log lines are written: `log_format` in either host's file, or
/// `BATON_LOG_FORMAT` (for the demo and every command) when no file says.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's text line: `2026-12-01T11:00:00+0000 warning baton.rp.dashboard: code=… [BatonDashboard] redemption refused`.
    case text
    /// One JSON object a line: `timestamp`, `level`, `label`, `message`, and `metadata`
    /// (an object of strings), for a log pipeline to parse.
    case json
}

/// Where the process's log lines go: standard error, in the format chosen at start.
/// Handlers are made when loggers are (some before any configuration file is read), so
/// each line asks for the format when it is written: one atomic load.
public enum LogOutput {
    private static let json = Atomic<Bool>(false)

    /// The format lines are written in from now on.
    public static var format: LogFormat {
        get { json.load(ordering: .relaxed) ? .json : .text }
        set { json.store(newValue == .json, ordering: .relaxed) }
    }

    /// The format `BATON_LOG_FORMAT` names (`text` or `json`); nil when it is unset.
    public static func format(environment: [String: String]) throws -> LogFormat? {
        guard let value = environment["BATON_LOG_FORMAT"], !value.isEmpty else { return nil }
        guard let format = LogFormat(rawValue: value.lowercased()) else {
            throw ConfigurationError(field: "BATON_LOG_FORMAT", message: "must be \"text\" or \"json\"")
        }
        return format
    }

    /// Sends every logger's lines to standard error at `level`, in ``format``.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = BatonLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// The format the `log_format` settings of one process's files ask for: the files
    /// must agree (one process writes one stream); none saying keeps `current`.
    public static func format(settings: [LogFormat?], current: LogFormat) throws -> LogFormat {
        let chosen = Set(settings.compactMap { $0 })
        guard chosen.count <= 1 else {
            throw ConfigurationError(field: "log_format", message: "differs between the files of one process: they share one log")
        }
        return chosen.first ?? current
    }
}

/// swift-log's stream handler for text, and one JSON object a line for `json`.
public struct BatonLogHandler: LogHandler {
    private var text: StreamLogHandler
    public let label: String

    /// A handler for loggers named `label`.
    public init(label: String) {
        self.label = label
        self.text = StreamLogHandler.standardError(label: label)
    }

    public var logLevel: Logger.Level {
        get { text.logLevel }
        set { text.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { text.metadata }
        set { text.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { text.metadataProvider }
        set { text.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { text[metadataKey: key] }
        set { text[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard LogOutput.format == .json else { return text.log(event: event) }
        var merged = text.metadata
        if let provided = text.metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let metadata = event.metadata { merged.merge(metadata) { $1 } }
        if let error = event.error, merged["error"] == nil { merged["error"] = .string(String(describing: error)) }
        var line = Self.jsonLine(
            timestamp: Date(), level: event.level, label: label, message: event.message.description, metadata: merged)
        line.append(UInt8(ascii: "\n"))
        StandardError.writeLine(line)
    }

    /// One JSON object without its newline: members in a fixed order, metadata values as
    /// strings (a nested value is written as swift-log describes it).
    public static func jsonLine(
        timestamp: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + message.utf8.count)
        out.append(contentsOf: #"{"timestamp":"#.utf8)
        appendString(Self.timestamp(timestamp), to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        appendString(level.rawValue, to: &out)
        out.append(contentsOf: #","label":"#.utf8)
        appendString(label, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        appendString(message, to: &out)
        out.append(contentsOf: #","metadata":{"#.utf8)
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendString(metadata[key]!.description, to: &out)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }

    /// `2026-12-01T11:00:00.123Z`: UTC, milliseconds.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        let milliseconds = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):"
            + "\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)Z"
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\u00XX`, and the
    /// line separators U+2028 and U+2029 escaped too (some readers split lines on them).
    static func appendString(_ value: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        func escaped(_ code: Int) {
            out.append(contentsOf: #"\u"#.utf8)
            for shift in [12, 8, 4, 0] { out.append(hex[(code >> shift) & 0xF]) }
        }
        out.append(UInt8(ascii: "\""))
        let bytes = Array(value.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F: escaped(Int(byte))
            case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                escaped(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029)
                index += 2
            default: out.append(byte)
            }
            index += 1
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Whole lines to standard error: one `write` each under a lock, so lines from
/// concurrent tasks never interleave.
enum StandardError {
    private static let lock = Mutex<Void>(())

    static func writeLine(_ bytes: [UInt8]) {
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}

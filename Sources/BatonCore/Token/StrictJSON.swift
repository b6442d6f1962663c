/// A JSON value read by ``StrictJSON``. Numbers keep their text so that the caller
/// decides what counts as an integer (`1e308` and `1.0` do not).
public indirect enum JSONValue: Equatable, Sendable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)), (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: false
        }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as a whole number of seconds: digits only, no fraction, no exponent,
    /// within ±2^53 so every JOSE library reads it the same way.
    public var integerValue: Int64? {
        guard case .number(let text) = self else { return nil }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.count <= 16, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let value = Int64(text), abs(value) <= 9_007_199_254_740_992
        else { return nil }
        return value
    }
}

/// A JSON parser that refuses what lenient parsers let through: duplicate keys at any
/// depth (RFC 8259 leaves them undefined, and two parsers may pick different ones),
/// trailing data, unpaired surrogates, deep nesting and control characters.
public enum StrictJSON {
    public struct Failure: Error, Equatable {}

    /// Parses one JSON object from UTF-8 bytes.
    public static func parseObject(_ bytes: [UInt8], maxDepth: Int = 8) throws(Failure) -> [(String, JSONValue)] {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count, case .object(let members) = value else { throw Failure() }
        return members
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0a, 0x0d: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: String) throws(Failure) {
            for byte in literal.utf8 {
                guard index < bytes.count, bytes[index] == byte else { throw Failure() }
                index += 1
            }
        }

        mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
            guard depth <= maxDepth, index < bytes.count else { throw Failure() }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default: return .number(try parseNumber())
            }
        }

        mutating func parseObject(depth: Int) throws(Failure) -> JSONValue {
            index += 1
            var members: [(String, JSONValue)] = []
            var seen = Set<String>()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Failure() }
                let key = try parseString()
                guard seen.insert(key).inserted else { throw Failure() }
                skipWhitespace()
                try expect(":")
                skipWhitespace()
                members.append((key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw Failure() }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("}")
                return .object(members)
            }
        }

        mutating func parseArray(depth: Int) throws(Failure) -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw Failure() }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("]")
                return .array(items)
            }
        }

        mutating func parseString() throws(Failure) -> String {
            index += 1
            // The common case, a string with no escape: one validation of its bytes.
            var end = index
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 {
                end += 1
            }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                guard let text = String(validating: bytes[index..<end], as: UTF8.self) else { throw Failure() }
                index = end + 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() throws(Failure) {
                guard !raw.isEmpty else { return }
                guard let text = String(validating: raw, as: UTF8.self) else { throw Failure() }
                scalars.append(contentsOf: text.unicodeScalars)
                raw.removeAll()
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    try flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush()
                    guard index < bytes.count else { throw Failure() }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        let high = try parseHex4()
                        if (0xD800...0xDBFF).contains(high) {
                            try expect("\\u")
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw Failure() }
                            let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            guard let scalar = Unicode.Scalar(value) else { throw Failure() }
                            scalars.append(scalar)
                        } else {
                            guard let scalar = Unicode.Scalar(high) else { throw Failure() }
                            scalars.append(scalar)
                        }
                    default: throw Failure()
                    }
                default:
                    guard byte >= 0x20 else { throw Failure() }
                    raw.append(byte)
                }
            }
            throw Failure()
        }

        mutating func parseHex4() throws(Failure) -> UInt32 {
            guard index + 4 <= bytes.count else { throw Failure() }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                guard let digit = hexDigit(byte) else { throw Failure() }
                value = value << 4 | digit
            }
            index += 4
            return value
        }

        func hexDigit(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - 55)
            default: nil
            }
        }

        mutating func parseNumber() throws(Failure) -> String {
            let start = index
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let intStart = index
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            guard index > intStart else { throw Failure() }
            // RFC 8259: no leading zeros.
            if bytes[intStart] == 48, index - intStart > 1 { throw Failure() }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                let fracStart = index
                while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
                guard index > fracStart else { throw Failure() }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                let expStart = index
                while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
                guard index > expStart else { throw Failure() }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }
}

import BatonCore

/// JSON written back from what ``StrictJSON`` read, one spelling for each value: the
/// harnesses re-encode what a parse accepted and check that it reads back the same.
public enum CanonicalJSON {
    /// An object with `members`, in their order.
    public static func encode(_ members: [(String, JSONValue)]) -> [UInt8] {
        var out: [UInt8] = []
        append(.object(members), to: &out)
        return out
    }

    public static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .string(let text): append(string: text, to: &out)
        case .number(let text): out += Array(text.utf8)
        case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (name, item)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(string: name, to: &out)
                out.append(UInt8(ascii: ":"))
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A string with only `"`, `\` and control characters escaped.
    public static func append(string text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0..<0x20:
                out += Array("\\u00".utf8) + [hex[Int(scalar.value >> 4)], hex[Int(scalar.value & 15)]]
            default: out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Equal scalar for scalar: Swift's `==` on strings is canonical equivalence, which
    /// would call `"é"` and `"e\u{301}"` the same.
    public static func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): Array(x.unicodeScalars) == Array(y.unicodeScalars)
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x), .object(let y)):
            x.count == y.count
                && zip(x, y).allSatisfy { Array($0.0.unicodeScalars) == Array($1.0.unicodeScalars) && identical($0.1, $1.1) }
        default: false
        }
    }

    /// The `maxDepth` a value needs: 0 for a scalar or an empty container, one more
    /// than its deepest member otherwise.
    public static func depth(_ value: JSONValue) -> Int {
        switch value {
        case .array(let items): items.isEmpty ? 0 : 1 + (items.map(depth).max() ?? 0)
        case .object(let members): members.isEmpty ? 0 : 1 + (members.map { depth($0.1) }.max() ?? 0)
        default: 0
        }
    }

    /// True when some object, at any depth, names a key twice (as Swift compares keys,
    /// which is how `Dictionary(uniqueKeysWithValues:)` would trap on it).
    public static func repeatsAKey(_ value: JSONValue) -> Bool {
        switch value {
        case .array(let items): return items.contains(where: repeatsAKey)
        case .object(let members):
            return Set(members.map(\.0)).count != members.count || members.contains { repeatsAKey($0.1) }
        default: return false
        }
    }
}

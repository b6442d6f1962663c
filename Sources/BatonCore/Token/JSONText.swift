/// Writes the small JSON objects Baton signs and sends: members in the order given,
/// strings escaped as RFC 8259 requires, integers as digits. Only what tokens, the back
/// channel and the stored timeline need, so that no request needs a general encoder.
struct JSONText {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]

    mutating func string(_ name: String, _ value: String) {
        key(name)
        Self.append(quoted: value, to: &bytes)
    }

    mutating func integer(_ name: String, _ value: Int64) {
        key(name)
        bytes += Array(String(value).utf8)
    }

    /// A finite number in Swift's shortest form that reads back the same (valid JSON);
    /// anything else is written as 0, since JSON has no infinity and no NaN.
    mutating func number(_ name: String, _ value: Double) {
        key(name)
        bytes += Array((value.isFinite ? String(value) : "0").utf8)
    }

    mutating func strings(_ name: String, _ values: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.append(quoted: value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member whose value is already JSON text.
    mutating func raw(_ name: String, _ json: String) {
        key(name)
        bytes += Array(json.utf8)
    }

    /// The finished object.
    mutating func close() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        Self.append(quoted: name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    static func append(quoted text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

// The JSON harness: any bytes through ``StrictJSON`` (every token header and payload,
// the JWKS and the configuration files are read with it) and, as text, through
// ``Base64URL`` (every token part).
//
// Invariants, StrictJSON:
// - What it accepts is valid UTF-8, repeats no key at any depth (the configuration
//   reader builds dictionaries with `uniqueKeysWithValues`, which traps on a repeat),
//   and nests no deeper than `maxDepth`; the depth it needs is exactly what it takes.
// - Written back canonically, it reads back identical, scalar for scalar, and the
//   canonical text is a fixed point.
// - Foundation's JSONSerialization reads anything StrictJSON accepts, to an object
//   with as many members: StrictJSON is a strict subset, never a dialect.
// Invariants, Base64URL:
// - A decoding that succeeds re-encodes to the very same text (one spelling per value);
//   text outside the alphabet, or of a length of 4n + 1, never decodes.
// - Any bytes encode to text of the alphabet, of length ceil(4n / 3), that decodes back.
import BatonCore
import FuzzSupport
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Fuzz.bytes(start, count)
    checkStrictJSON(bytes)
    checkBase64URL(bytes)
    return 0
}

func checkStrictJSON(_ bytes: [UInt8]) {
    guard let members = try? StrictJSON.parseObject(bytes, maxDepth: 8) else {
        // Less depth allowed never makes a refused input acceptable.
        Fuzz.require((try? StrictJSON.parseObject(bytes, maxDepth: 2)) == nil, "accepted at depth 2, refused at 8")
        return
    }
    let value = JSONValue.object(members)
    Fuzz.require(String(validating: bytes, as: UTF8.self) != nil, "accepted bytes that are not UTF-8: \(Fuzz.show(bytes))")
    Fuzz.require(!CanonicalJSON.repeatsAKey(value), "accepted a repeated key: \(Fuzz.show(bytes))")

    let depth = CanonicalJSON.depth(value)
    Fuzz.require(depth <= 8, "accepted depth \(depth) with maxDepth 8")
    if let exact = try? StrictJSON.parseObject(bytes, maxDepth: depth) {
        Fuzz.require(CanonicalJSON.identical(.object(exact), value), "maxDepth changed what was read")
    } else {
        Fuzz.fail("refused at its own depth \(depth): \(Fuzz.show(bytes))")
    }
    if depth > 0 {
        Fuzz.require((try? StrictJSON.parseObject(bytes, maxDepth: depth - 1)) == nil, "accepted depth \(depth) with maxDepth \(depth - 1)")
    }

    let canonical = CanonicalJSON.encode(members)
    guard let again = try? StrictJSON.parseObject(canonical, maxDepth: 8) else {
        Fuzz.fail("the canonical form is refused: \(Fuzz.show(canonical)) from \(Fuzz.show(bytes))")
    }
    Fuzz.require(CanonicalJSON.identical(.object(again), value), "the canonical form reads back differently: \(Fuzz.show(canonical))")
    Fuzz.require(CanonicalJSON.encode(again) == canonical, "the canonical form is not a fixed point")

    guard let foundation = try? JSONSerialization.jsonObject(with: Data(bytes)) else {
        // JSONSerialization turns numbers into Double and refuses the ones that overflow it.
        if hasOverflowingNumber(value) { return }
        Fuzz.fail("StrictJSON accepts what JSONSerialization refuses: \(Fuzz.show(bytes))")
    }
    guard let object = foundation as? [String: Any] else { Fuzz.fail("JSONSerialization reads no object: \(Fuzz.show(bytes))") }
    Fuzz.require(object.count == members.count, "JSONSerialization reads \(object.count) members, StrictJSON \(members.count)")
}

func checkBase64URL(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let utf8 = Array(text.utf8)
    if let decoded = Base64URL.decode(text) {
        Fuzz.require(Base64URL.encode(decoded) == text, "decoded text with a second spelling: \(Fuzz.show(utf8))")
        Fuzz.require(decoded.count == utf8.count * 3 / 4, "decoded \(utf8.count) characters to \(decoded.count) bytes")
        Fuzz.require(Base64URL.isAlphabet(text), "decoded text outside the alphabet")
    } else {
        Fuzz.require(!Base64URL.isAlphabet(text) || utf8.count % 4 == 1 || hasStrayBits(utf8), "refused good text: \(Fuzz.show(utf8))")
    }
    if utf8.count % 4 == 1 { Fuzz.require(Base64URL.decode(text) == nil, "decoded a length of 4n + 1") }

    let encoded = Base64URL.encode(bytes)
    Fuzz.require(encoded.utf8.count == (bytes.count * 4 + 2) / 3, "encoded \(bytes.count) bytes to \(encoded.utf8.count) characters")
    Fuzz.require(Base64URL.isAlphabet(encoded), "encoded outside the alphabet")
    Fuzz.require(Base64URL.decode(encoded) == bytes, "an encoding does not decode back")
}

/// The last character carries bits past the end of the data.
func hasStrayBits(_ text: [UInt8]) -> Bool {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    guard let last = text.last, let value = alphabet.firstIndex(of: last) else { return false }
    switch text.count % 4 {
    case 2: return value & 0x0f != 0
    case 3: return value & 0x03 != 0
    default: return false
    }
}

/// A number Double cannot hold (`1e400`): JSONSerialization refuses those.
func hasOverflowingNumber(_ value: JSONValue) -> Bool {
    switch value {
    case .number(let text): (Double(text)?.isFinite ?? false) == false
    case .array(let items): items.contains(where: hasOverflowingNumber)
    case .object(let members): members.contains { hasOverflowingNumber($0.1) }
    default: false
    }
}

import Testing

@testable import BatonCore

@Suite("Base64URL: one spelling per value")
struct Base64URLTests {
    @Test("encodes the RFC 4648 vectors without padding, with - and _")
    func encodesVectors() {
        #expect(Base64URL.encode([UInt8]()) == "")
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64URL.encode(Array("foob".utf8)) == "Zm9vYg")
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.encode([0xff, 0xff, 0xff]) == "____")
    }

    @Test("decodes canonical text")
    func decodesCanonical() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QUI") == Array("AB".utf8))
        #expect(Base64URL.decode("Zm9v") == Array("foo".utf8))
        #expect(Base64URL.decode("-_8") == [0xfb, 0xff])
    }

    @Test(
        "refuses padding, whitespace, the standard alphabet and foreign characters",
        arguments: [
            "Zg==", "Zg=", "Zm8=", "=", "Zm9v=",
            " Zm9v", "Zm9v ", "Zm 9v", "Zm9v\n", "Zm\r\n9v", "\tZm9v",
            "+_8", "-/8", "+/8A",
            "Zm9v\u{e9}", "Zm9v%3D", "Zm9v.", "Zm\u{0}9v",
        ])
    func refusesNonAlphabet(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("refuses a length that is 1 modulo 4", arguments: ["A", "Zm9vY", "Zm9vYmFyZ"])
    func refusesImpossibleLength(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("refuses non-zero trailing bits: QR and QUJ are not A and AB")
    func refusesTrailingBits() {
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil)
        #expect(Base64URL.decode("QX") == nil)
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)
        #expect(Base64URL.decode("QUL") == nil)
    }

    @Test("every two-character text decodes only when canonical: exactly 256 of 4096")
    func twoCharactersAreCanonical() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var decoded: Set<[UInt8]> = []
        var accepted = 0
        var mismatches: [String] = []
        for a in alphabet {
            for b in alphabet {
                let text = String([a, b])
                guard let bytes = Base64URL.decode(text) else { continue }
                accepted += 1
                decoded.insert(bytes)
                if Base64URL.encode(bytes) != text { mismatches.append(text) }
            }
        }
        #expect(accepted == 256)
        #expect(decoded.count == 256)
        #expect(mismatches.isEmpty, "non-canonical spellings accepted: \(mismatches.prefix(8))")
    }

    @Test("every three-character text decodes only when canonical: exactly 65536 of 262144")
    func threeCharactersAreCanonical() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var accepted = 0
        var mismatches = 0
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let text = String(decoding: [a, b, c], as: UTF8.self)
                    guard let bytes = Base64URL.decode(text) else { continue }
                    accepted += 1
                    if Base64URL.encode(bytes) != text { mismatches += 1 }
                }
            }
        }
        #expect(accepted == 65536)
        #expect(mismatches == 0)
    }

    @Test("round-trips random bytes of every length up to 200")
    func roundTripsRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
    }

    @Test("isAlphabet accepts only A-Z a-z 0-9 - _")
    func alphabetCheck() {
        #expect(Base64URL.isAlphabet("AZaz09-_"))
        #expect(Base64URL.isAlphabet(""))
        for bad in ["+", "/", "=", " ", ".", "\u{e9}", "\n", "%"] {
            #expect(!Base64URL.isAlphabet("abc" + bad), "\(bad)")
        }
    }
}

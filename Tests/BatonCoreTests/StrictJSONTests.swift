import Testing

@testable import BatonCore

@Suite("StrictJSON: refuses what lenient parsers let through")
struct StrictJSONTests {
    private func parse(_ text: String, maxDepth: Int = 8) throws(StrictJSON.Failure) -> [(String, JSONValue)] {
        try StrictJSON.parseObject(Array(text.utf8), maxDepth: maxDepth)
    }

    private func refuses(_ text: String, maxDepth: Int = 8) -> Bool {
        (try? parse(text, maxDepth: maxDepth)) == nil
    }

    @Test("reads an object's members in order, with every kind of value")
    func readsValues() throws {
        let members = try parse(#" {"s":"x\"\\\/\n\u00e9\ud83d\ude00", "n":-12.5e+3, "b":true, "f":false, "z":null, "a":[1,"2",[]], "o":{}} "#)
        #expect(members.map(\.0) == ["s", "n", "b", "f", "z", "a", "o"])
        #expect(members[0].1 == .string("x\"\\/\n\u{e9}\u{1F600}"))
        #expect(members[1].1 == .number("-12.5e+3"))
        #expect(members[2].1 == .bool(true))
        #expect(members[3].1 == .bool(false))
        #expect(members[4].1 == .null)
        #expect(members[5].1 == .array([.number("1"), .string("2"), .array([])]))
        #expect(members[6].1 == .object([]))
    }

    @Test(
        "refuses duplicate keys at the top level, nested, and spelled with escapes",
        arguments: [
            #"{"a":1,"a":1}"#,
            #"{"a":1,"a":2}"#,
            #"{"alg":"EdDSA","b":0,"alg":"none"}"#,
            #"{"a":1,"\u0061":2}"#,
            #"{"o":{"k":1,"k":2}}"#,
            #"{"o":[{"k":1,"k":2}]}"#,
            #"{"o":{"p":{"k":true,"k":false}}}"#,
        ])
    func refusesDuplicateKeys(text: String) {
        #expect(refuses(text))
    }

    @Test("the same key in two different objects is not a duplicate")
    func sameKeyInSiblingsIsFine() throws {
        let members = try parse(#"{"a":{"k":1},"b":{"k":2}}"#)
        #expect(members.count == 2)
    }

    @Test(
        "refuses trailing data after the object",
        arguments: [#"{"a":1}x"#, #"{"a":1}{}"#, #"{"a":1},"#, #"{"a":1}}"#, #"{"a":1} 1"#, "{\"a\":1}\u{0}"])
    func refusesTrailingData(text: String) {
        #expect(refuses(text))
    }

    @Test("allows JSON whitespace around the object")
    func allowsWhitespace() throws {
        #expect(try parse(" \t\r\n{ \"a\" : 1 }\n ").count == 1)
    }

    @Test(
        "refuses numbers with leading zeros or outside the JSON grammar",
        arguments: ["01", "-01", "00", "007", "+1", ".5", "1.", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity", "-Infinity", "1_000"])
    func refusesBadNumbers(number: String) {
        #expect(refuses(#"{"n":\#(number)}"#))
    }

    @Test("accepts zero, negative zero and fractions")
    func acceptsGoodNumbers() throws {
        for number in ["0", "-0", "0.5", "10", "1e5", "1E-5"] {
            #expect(try parse(#"{"n":\#(number)}"#)[0].1 == .number(number))
        }
    }

    @Test(
        "refuses unpaired surrogates",
        arguments: [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\udbff\udbff""#, #""\ud800\""#])
    func refusesUnpairedSurrogates(string: String) {
        #expect(refuses(#"{"s":\#(string)}"#))
    }

    @Test("refuses raw control characters in strings, but not their escapes")
    func refusesControlCharacters() throws {
        for byte in [0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x1f] as [UInt8] {
            let bytes = Array(#"{"s":"a"#.utf8) + [byte] + Array(#"b"}"#.utf8)
            #expect((try? StrictJSON.parseObject(bytes)) == nil, "byte \(byte)")
            // The same control character in a key is refused too.
            let keyBytes = Array(#"{"a"#.utf8) + [byte] + Array(#"":1}"#.utf8)
            #expect((try? StrictJSON.parseObject(keyBytes)) == nil, "key byte \(byte)")
        }
        #expect(try parse(#"{"s":"a\tb\u0000c"}"#)[0].1 == .string("a\tb\u{0}c"))
    }

    @Test("refuses invalid UTF-8 inside strings")
    func refusesInvalidUTF8() {
        for bad: [UInt8] in [[0xff], [0xc0, 0xaf], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0x80]] {
            let bytes = Array(#"{"s":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect((try? StrictJSON.parseObject(bytes)) == nil, "\(bad)")
        }
    }

    @Test("refuses bad escapes", arguments: [#""\x41""#, #""\u12""#, #""\u12G4""#, #""\'""#, #""\U0041""#, #""\""#])
    func refusesBadEscapes(string: String) {
        #expect(refuses(#"{"s":\#(string)}"#))
    }

    @Test("refuses nesting deeper than maxDepth")
    func refusesDeepNesting() throws {
        #expect(try parse(#"{"a":"x"}"#, maxDepth: 1).count == 1)
        #expect(refuses(#"{"a":["x"]}"#, maxDepth: 1))
        #expect(refuses(#"{"a":{"b":1}}"#, maxDepth: 1))
        #expect(try parse(#"{"a":{"b":1}}"#, maxDepth: 2).count == 1)
        #expect(refuses(#"{"a":{"b":{"c":1}}}"#, maxDepth: 2))
        // Far too deep for the default: refused without exhausting the stack.
        let deep = #"{"a":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(refuses(deep))
        let deepObjects = String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_000)
        #expect(refuses(deepObjects))
    }

    @Test(
        "refuses anything that is not exactly one object",
        arguments: ["", " ", "[]", "[{}]", "1", #""x""#, "null", "true", "{", #"{"a":1"#, #"{"a""#, #"{"a":}"#, #"{a:1}"#, #"{'a':1}"#, #"{"a":1,}"#, #"{,}"#, #"{"a":tru}"#, #"{"a":True}"#, #"{"a":nul}"#, #"{"a":"x}"#, #"{"a":[1,]}"#])
    func refusesNonObjects(text: String) {
        #expect(refuses(text))
    }

    @Test("integerValue accepts plain integers up to 2^53")
    func integerValueAccepts() {
        #expect(JSONValue.number("0").integerValue == 0)
        #expect(JSONValue.number("1750000000").integerValue == 1_750_000_000)
        #expect(JSONValue.number("-5").integerValue == -5)
        #expect(JSONValue.number("9007199254740992").integerValue == 9_007_199_254_740_992)
        #expect(JSONValue.number("-9007199254740992").integerValue == -9_007_199_254_740_992)
    }

    @Test(
        "integerValue refuses exponents, fractions, strings, booleans, null and numbers beyond 2^53",
        arguments: [
            JSONValue.number("1e308"), .number("1E3"), .number("1e0"), .number("1.0"), .number("1.5"), .number("-0.0"),
            .number("9007199254740993"), .number("-9007199254740993"), .number("99999999999999999"),
            .number("99999999999999999999"), .number("9223372036854775807"), .number("-9223372036854775808"),
            .number("-"), .number(""),
            .string("1"), .bool(true), .bool(false), .null, .array([.number("1")]), .object([("a", .number("1"))]),
        ])
    func integerValueRefuses(value: JSONValue) {
        #expect(value.integerValue == nil)
    }

    @Test("a parsed 1e308 stays a number that is not an integer")
    func parsedExponentIsNotInteger() throws {
        let members = try parse(#"{"exp":1e308}"#)
        #expect(members[0].1 == .number("1e308"))
        #expect(members[0].1.integerValue == nil)
    }
}

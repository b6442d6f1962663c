import BatonWeb
import Testing

/// The form and query parser every parameter goes through: repeats kept, `+` a space,
/// percent escapes decoded once, and anything undecodable dropped rather than guessed.
@Suite("FormFields: form-URL decoding")
struct FormFieldsTests {
    @Test("names and values decode once; + is a space; %2B stays a plus; repeats and empty values are kept")
    func decoding() {
        let fields = FormFields(encoded: "a=1&b=x+y&c=%2B%2F%3D&token=A&token=B&empty=&flag&%E2%9C%93=%C3%A9")
        #expect(fields.single("a") == "1")
        #expect(fields.single("b") == "x y")
        #expect(fields.single("c") == "+/=")
        #expect(fields.all("token") == ["A", "B"])
        #expect(fields.single("token") == nil)
        #expect(fields.single("empty") == "")
        #expect(fields.single("flag") == "")
        #expect(fields.single("✓") == "é")
        #expect(FormFields(encoded: "r=%252F").single("r") == "%2F", "decoded once only")
    }

    @Test("a broken escape or bytes that are not UTF-8 drop the pair, never the rest")
    func undecodable() {
        let fields = FormFields(encoded: "bad=%zz&short=%4&tail=%&latin=%E9&ok=1&nul=%00")
        #expect(fields.single("bad") == nil)
        #expect(fields.single("short") == nil)
        #expect(fields.single("tail") == nil)
        #expect(fields.single("latin") == nil)
        #expect(fields.single("ok") == "1")
        #expect(fields.single("nul") == "\u{0}")
    }
}

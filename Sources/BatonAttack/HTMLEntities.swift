/// HTML character references (WHATWG HTML §13.2.5.72–.80), reduced to what a form
/// needs: decimal and hexadecimal references with or without `;`, the named ones an
/// escaper writes, and the legacy names a browser still reads without `;`.
public enum HTMLEntities {
    /// Named references and their text. The full table has 2,231 names; these are
    /// the ones HTML escapers produce for markup, quotes, URLs and common typography.
    static let named: [String: String] = [
        "amp": "&", "AMP": "&", "lt": "<", "LT": "<", "gt": ">", "GT": ">", "quot": "\"", "QUOT": "\"", "apos": "'",
        "nbsp": "\u{A0}", "Tab": "\t", "NewLine": "\n", "excl": "!", "num": "#", "dollar": "$", "percnt": "%", "lpar": "(",
        "rpar": ")", "ast": "*", "plus": "+", "comma": ",", "period": ".", "sol": "/", "colon": ":", "semi": ";",
        "equals": "=", "quest": "?", "commat": "@", "lsqb": "[", "bsol": "\\", "rsqb": "]", "lowbar": "_", "grave": "`",
        "lcub": "{", "verbar": "|", "rcub": "}", "copy": "©", "reg": "®", "trade": "™", "hellip": "…", "mdash": "—",
        "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "laquo": "«", "raquo": "»", "middot": "·",
        "bull": "•", "times": "×", "divide": "÷", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§",
        "deg": "°", "para": "¶", "shy": "\u{AD}", "larr": "←", "rarr": "→",
    ]

    /// Names a browser decodes even without the `;` (a subset of the legacy list).
    static let legacy: Set<String> = ["amp", "AMP", "lt", "LT", "gt", "GT", "quot", "QUOT", "nbsp", "copy", "reg", "times", "deg"]

    /// §13.2.5.80: numeric references to C1 controls mean windows-1252 characters.
    static let windows1252: [UInt32: UInt32] = [
        0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6,
        0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201C,
        0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A,
        0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178,
    ]

    /// `text` with its character references decoded. In an attribute value, a legacy
    /// name without `;` followed by a letter, a digit or `=` stays as written
    /// (`?a=1&copy=2` keeps its `&copy`), as browsers do.
    public static func decode(_ text: String, inAttribute: Bool) -> String {
        guard text.contains("&") else { return text }
        let scalars = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            guard scalars[index] == "&", let (replacement, length) = reference(at: index, in: scalars, inAttribute: inAttribute) else {
                output.append(scalars[index])
                index += 1
                continue
            }
            output.append(contentsOf: replacement.unicodeScalars)
            index += length
        }
        return String(output)
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        HTMLTag.isASCIILetter(scalar) || ("0"..."9").contains(scalar)
    }

    /// The text of the reference starting at `start` (an `&`) and how many scalars it
    /// spans, or nil when it is not one.
    private static func reference(at start: Int, in scalars: [Unicode.Scalar], inAttribute: Bool) -> (String, Int)? {
        var index = start + 1
        guard index < scalars.count else { return nil }
        if scalars[index] == "#" {
            index += 1
            let hex = index < scalars.count && (scalars[index] == "x" || scalars[index] == "X")
            if hex { index += 1 }
            let digitsStart = index
            var value: UInt32 = 0
            while index < scalars.count, let digit = hexValue(scalars[index]), hex || digit < 10 {
                value = value > 0x10FFFF ? value : value * (hex ? 16 : 10) + digit
                index += 1
            }
            guard index > digitsStart else { return nil }
            if index < scalars.count, scalars[index] == ";" { index += 1 }
            return (String(Character(numeric(value))), index - start)
        }
        var name = ""
        while index < scalars.count, isAlphanumeric(scalars[index]), name.unicodeScalars.count < 32 {
            name.unicodeScalars.append(scalars[index])
            index += 1
        }
        if index < scalars.count, scalars[index] == ";", let text = named[name] {
            return (text, index + 1 - start)
        }
        // The longest legacy name the run starts with, read without its `;`.
        for length in stride(from: name.unicodeScalars.count, through: 2, by: -1) {
            let prefix = String(String.UnicodeScalarView(name.unicodeScalars.prefix(length)))
            guard legacy.contains(prefix), let text = named[prefix] else { continue }
            let following = start + 1 + length < scalars.count ? scalars[start + 1 + length] : nil
            if inAttribute, let following, isAlphanumeric(following) || following == "=" { return nil }
            return (text, 1 + length)
        }
        return nil
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 0x30
        case "a"..."f": scalar.value - 0x61 + 10
        case "A"..."F": scalar.value - 0x41 + 10
        default: nil
        }
    }

    /// §13.2.5.80: NUL, surrogates and values beyond Unicode become U+FFFD.
    private static func numeric(_ value: UInt32) -> Unicode.Scalar {
        if let mapped = windows1252[value], let scalar = Unicode.Scalar(mapped) { return scalar }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return "\u{FFFD}" }
        return scalar
    }
}

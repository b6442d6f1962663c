/// A small, tolerant HTML tokenizer: the tag and attribute rules of the WHATWG HTML
/// tokenizer (§13.2.5), without the tree builder. It reads any markup a browser reads,
/// so the suite finds a form however an implementation writes it: tag and attribute
/// names in any case, values double-quoted, single-quoted or unquoted, attributes
/// without a value, character references, comments, and raw-text elements whose
/// content is never markup.
public enum HTMLTokenizer {
    /// One token of a page.
    public enum Token: Sendable, Equatable {
        case startTag(HTMLTag)
        case endTag(name: String)
        /// Text between tags, character references decoded.
        case text(String)
    }

    /// Elements whose content is text up to their own end tag (§13.2.5.2, .3, .5).
    static let rawTextElements: Set<String> = ["script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title"]

    /// Every token of `html`, in order. Malformed markup never stops it: what a browser
    /// would drop is dropped, what it would read as text is text.
    public static func tokens(in html: String) -> [Token] {
        var reader = Reader(Array(html.unicodeScalars))
        var tokens: [Token] = []
        var text = ""
        func flushText() {
            if !text.isEmpty { tokens.append(.text(HTMLEntities.decode(text, inAttribute: false))) }
            text = ""
        }
        while let scalar = reader.next() {
            guard scalar == "<" else {
                text.unicodeScalars.append(scalar)
                continue
            }
            switch reader.peek() {
            case "!":
                flushText()
                reader.skipMarkupDeclaration()
            case "?":
                flushText()
                reader.skip(past: ">")
            case "/":
                reader.advance()
                if let first = reader.peek(), HTMLTag.isASCIILetter(first) {
                    flushText()
                    if let tag = reader.readTag(), !tag.name.isEmpty { tokens.append(.endTag(name: tag.name)) }
                } else if reader.peek() == ">" {
                    reader.advance()
                } else {
                    flushText()
                    reader.skip(past: ">")
                }
            case let next? where HTMLTag.isASCIILetter(next):
                flushText()
                guard let tag = reader.readTag() else { break }
                tokens.append(.startTag(tag))
                // A `/>` does not end a non-void element (§13.2.6.1): `<script/>` still
                // starts raw text.
                if rawTextElements.contains(tag.name) {
                    let content = reader.readRawText(until: tag.name)
                    if !content.isEmpty {
                        let decodes = tag.name == "textarea" || tag.name == "title"
                        tokens.append(.text(decodes ? HTMLEntities.decode(content, inAttribute: false) : content))
                    }
                    tokens.append(.endTag(name: tag.name))
                }
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        flushText()
        return tokens
    }

    /// The start tags of `html`, in order.
    public static func startTags(in html: String) -> [HTMLTag] {
        tokens(in: html).compactMap { token in
            if case .startTag(let tag) = token { return tag }
            return nil
        }
    }

    /// A cursor over the page's scalars.
    struct Reader {
        let scalars: [Unicode.Scalar]
        var index = 0

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var atEnd: Bool { index >= scalars.count }

        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }

        mutating func next() -> Unicode.Scalar? {
            guard index < scalars.count else { return nil }
            defer { index += 1 }
            return scalars[index]
        }

        mutating func advance() { index += 1 }

        static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}"
        }

        mutating func skipSpaces() {
            while let scalar = peek(), Self.isSpace(scalar) { advance() }
        }

        mutating func skip(past end: Unicode.Scalar) {
            while let scalar = next(), scalar != end {}
        }

        /// After `<!`: a comment (`<!-- … -->`, including the short `<!-->`), or a
        /// DOCTYPE or bogus comment up to the next `>`.
        mutating func skipMarkupDeclaration() {
            advance()
            guard peek() == "-", peek(1) == "-" else {
                skip(past: ">")
                return
            }
            index += 2
            if peek() == ">" {
                advance()
                return
            }
            if peek() == "-", peek(1) == ">" {
                index += 2
                return
            }
            while !atEnd {
                if peek() == "-", peek(1) == "-", peek(2) == ">" {
                    index += 3
                    return
                }
                if peek() == "-", peek(1) == "-", peek(2) == "!", peek(3) == ">" {
                    index += 4
                    return
                }
                advance()
            }
        }

        /// The text up to `</name` (any case) followed by a space, `/` or `>`; the end
        /// tag itself is consumed.
        mutating func readRawText(until name: String) -> String {
            let closing = Array(("</" + name).unicodeScalars)
            var content = String.UnicodeScalarView()
            while !atEnd {
                if matchesCaseInsensitively(closing) {
                    let after = peek(closing.count)
                    if after == nil || after == ">" || after == "/" || after.map(Self.isSpace) == true {
                        index += closing.count
                        skip(past: ">")
                        return String(content)
                    }
                }
                content.append(scalars[index])
                advance()
            }
            return String(content)
        }

        private func matchesCaseInsensitively(_ expected: [Unicode.Scalar]) -> Bool {
            guard index + expected.count <= scalars.count else { return false }
            for (offset, scalar) in expected.enumerated() where HTMLTag.lowercased(scalars[index + offset]) != scalar {
                return false
            }
            return true
        }

        /// A tag from its name to its `>` (the `<` or `</` already read); nil when the
        /// page ends inside it, which a browser drops too.
        mutating func readTag() -> HTMLTag? {
            var name = String.UnicodeScalarView()
            while let scalar = peek(), !Self.isSpace(scalar), scalar != "/", scalar != ">" {
                name.append(HTMLTag.lowercased(scalar))
                advance()
            }
            var tag = HTMLTag(name: String(name), attributes: [], selfClosing: false)
            while true {
                skipSpaces()
                guard let scalar = peek() else { return nil }
                if scalar == ">" {
                    advance()
                    return tag
                }
                if scalar == "/" {
                    advance()
                    if peek() == ">" {
                        advance()
                        tag.selfClosing = true
                        return tag
                    }
                    continue
                }
                guard let attribute = readAttribute() else { return nil }
                // §13.2.5.33: a repeated attribute is dropped; the first one counts.
                if !tag.attributes.contains(where: { $0.name == attribute.name }) { tag.attributes.append(attribute) }
            }
        }

        /// One attribute: a name, then optionally `=` and a value in any of the three
        /// spellings. nil when the page ends inside it.
        mutating func readAttribute() -> HTMLAttribute? {
            var name = String.UnicodeScalarView()
            // A leading `=` belongs to the name (§13.2.5.32).
            if peek() == "=" {
                name.append("=")
                advance()
            }
            while let scalar = peek(), !Self.isSpace(scalar), scalar != "/", scalar != ">", scalar != "=" {
                name.append(HTMLTag.lowercased(scalar))
                advance()
            }
            skipSpaces()
            guard peek() == "=" else { return atEnd ? nil : HTMLAttribute(name: String(name), value: "") }
            advance()
            skipSpaces()
            guard let quote = peek() else { return nil }
            var raw = String.UnicodeScalarView()
            if quote == "\"" || quote == "'" {
                advance()
                while let scalar = next() {
                    if scalar == quote { return HTMLAttribute(name: String(name), value: HTMLEntities.decode(String(raw), inAttribute: true)) }
                    raw.append(scalar)
                }
                return nil
            }
            while let scalar = peek(), !Self.isSpace(scalar), scalar != ">" {
                raw.append(scalar)
                advance()
            }
            return atEnd ? nil : HTMLAttribute(name: String(name), value: HTMLEntities.decode(String(raw), inAttribute: true))
        }
    }
}

/// One start tag: its lowercased name and its attributes, values decoded.
public struct HTMLTag: Sendable, Equatable {
    public var name: String
    public var attributes: [HTMLAttribute]
    public var selfClosing: Bool

    /// The value of attribute `name` (any case), or nil when the tag has none.
    public func attribute(_ name: String) -> String? {
        let wanted = name.lowercased()
        return attributes.first { $0.name == wanted }?.value
    }

    /// True when the tag carries attribute `name`, with or without a value.
    public func has(_ name: String) -> Bool { attribute(name) != nil }

    static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar)
    }

    static func lowercased(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(scalar) ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar
    }
}

/// One attribute of a tag.
public struct HTMLAttribute: Sendable, Equatable {
    /// Lowercased.
    public var name: String
    /// Character references decoded; empty for an attribute written without a value.
    public var value: String
}

/// The inputs of a page's forms, read the way a browser would submit them.
public enum HTMLForm {
    /// Name and value of every `<input>` with a name, in page order.
    public static func inputs(in html: String) -> [(name: String, value: String)] {
        var result: [(String, String)] = []
        var rest = Substring(html)
        while let start = rest.range(of: "<input") {
            guard let end = rest[start.upperBound...].firstIndex(of: ">") else { break }
            let tag = rest[start.upperBound..<end]
            if let name = attribute("name", in: tag) {
                result.append((name, attribute("value", in: tag) ?? ""))
            }
            rest = rest[end...]
        }
        return result
    }

    /// The value of hidden input `name`.
    public static func value(_ name: String, in html: String) -> String? {
        inputs(in: html).first { $0.name == name }?.value
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let range = tag.range(of: " \(name)=\"") else { return nil }
        let valueStart = range.upperBound
        guard let valueEnd = tag[valueStart...].firstIndex(of: "\"") else { return nil }
        return unescape(String(tag[valueStart..<valueEnd]))
    }

    /// Undoes HTML escaping: named entities Baton's templates produce and numeric ones.
    public static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var output = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            output += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                output += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = rest[rest.index(after: amp)..<semi]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
            if let replacement = named[String(entity)] {
                output += replacement
            } else if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let code = UInt32(entity.dropFirst(2), radix: 16),
                let scalar = Unicode.Scalar(code)
            {
                output.unicodeScalars.append(scalar)
            } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                output.unicodeScalars.append(scalar)
            } else {
                output += "&" + entity + ";"
            }
            rest = rest[rest.index(after: semi)...]
        }
        return output + rest
    }
}

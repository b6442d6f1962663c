import Foundation

/// One `<form>` of a page and the fields a browser would submit with it, read with
/// ``HTMLTokenizer`` so that any markup PROTOCOL.md allows is found: `<FORM
/// METHOD=post action=/login>` as well as `<form method="post" action="/login">`.
public struct HTMLForm: Sendable {
    /// The `action` attribute as written (references decoded); nil when absent.
    public var action: String?
    /// `get` or `post`, lowercased; `get` when absent or unknown, as in a browser.
    public var method: String
    /// The `id` attribute, which controls outside the form can name.
    public var id: String?
    /// What the form submits, in page order: every named `<input>` that is not
    /// disabled, not a button and, for checkboxes and radios, checked; and every named
    /// `<textarea>`. (`<select>` is not read: no form of the contract has one.)
    public var fields: [(name: String, value: String)]

    /// The value of field `name`, if the form submits one.
    public func value(_ name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// The fields with `values` filled in: a field of the same name takes the new
    /// value in place (the first one; later duplicates are dropped), the others are
    /// added at the end. What a person typing into the form sends.
    public func filled(_ values: [(String, String)]) -> [(String, String)] {
        var result: [(String, String)] = []
        var pending = values
        for (name, value) in fields {
            if let index = pending.firstIndex(where: { $0.0 == name }) {
                result.append(pending.remove(at: index))
            } else if !values.contains(where: { $0.0 == name }) {
                result.append((name, value))
            }
        }
        return result + pending
    }

    /// The path the form submits to, from a page at `pageURL` (an empty or missing
    /// `action` submits to the page itself), without its query or fragment.
    public func actionPath(from pageURL: String?) -> String? {
        if let target = target(from: pageURL) { return PublicURL(target)?.path }
        guard let action = action?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        if let absolute = PublicURL(action) { return absolute.path }
        guard action.hasPrefix("/"), !action.hasPrefix("//") else { return nil }
        return String(action.prefix { $0 != "?" && $0 != "#" })
    }

    /// The absolute URL the form submits to from a page at `pageURL`, without a
    /// fragment; nil without a page to resolve against.
    public func target(from pageURL: String?) -> String? {
        guard let page = pageURL.flatMap(PublicURL.init) else { return nil }
        // A URL attribute's surrounding whitespace is not part of it (HTML §2.4.1).
        var action = (self.action ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if let hash = action.firstIndex(of: "#") { action = String(action[..<hash]) }
        if action.isEmpty { return page.origin + page.target }
        if action.hasPrefix("//") { return page.scheme + ":" + action }
        if PublicURL(action) != nil { return action }
        if action.hasPrefix("/") { return page.origin + action }
        let directory = page.path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return page.origin + directory + "/" + action
    }

    /// Every form of `html`, in page order. A `<form>` inside another is ignored, as
    /// a browser ignores it; a control's `form` attribute gives it to the form of
    /// that id wherever it stands.
    public static func forms(in html: String) -> [HTMLForm] {
        var forms: [HTMLForm] = []
        var open: Int?
        // Controls with a `form` attribute, claimed once every id is known.
        var claimed: [(formID: String, order: Int, name: String, value: String)] = []
        var owned: [(form: Int, order: Int, name: String, value: String)] = []
        var textarea: (owner: Int?, formID: String?, name: String, order: Int)?
        var textareaText = ""
        for (order, token) in HTMLTokenizer.tokens(in: html).enumerated() {
            switch token {
            case .startTag(let tag) where tag.name == "form":
                guard open == nil else { continue }
                let method = tag.attribute("method")?.lowercased()
                forms.append(
                    HTMLForm(action: tag.attribute("action"), method: method == "post" ? "post" : "get", id: tag.attribute("id"), fields: []))
                open = forms.count - 1
            case .endTag(name: "form"):
                open = nil
            case .startTag(let tag) where tag.name == "input":
                guard let field = submitted(tag) else { continue }
                if let formID = tag.attribute("form") {
                    claimed.append((formID, order, field.name, field.value))
                } else if let open {
                    owned.append((open, order, field.name, field.value))
                }
            case .startTag(let tag) where tag.name == "textarea":
                guard let name = tag.attribute("name"), !name.isEmpty, !tag.has("disabled") else { continue }
                textarea = (open, tag.attribute("form"), name, order)
                textareaText = ""
            case .text(let text) where textarea != nil:
                textareaText += text
            case .endTag(name: "textarea"):
                guard let pending = textarea else { continue }
                // §4.10.11: a newline right after the start tag is not part of the value.
                let value = textareaText.hasPrefix("\n") ? String(textareaText.dropFirst()) : textareaText
                if let formID = pending.formID {
                    claimed.append((formID, pending.order, pending.name, value))
                } else if let owner = pending.owner {
                    owned.append((owner, pending.order, pending.name, value))
                }
                textarea = nil
            default:
                break
            }
        }
        for control in claimed {
            guard let form = forms.firstIndex(where: { $0.id == control.formID }) else { continue }
            owned.append((form, control.order, control.name, control.value))
        }
        for control in owned.sorted(by: { $0.order < $1.order }) {
            forms[control.form].fields.append((control.name, control.value))
        }
        return forms
    }

    /// What an `<input>` contributes to its form's submission, if anything.
    static func submitted(_ tag: HTMLTag) -> (name: String, value: String)? {
        guard let name = tag.attribute("name"), !name.isEmpty, !tag.has("disabled") else { return nil }
        let type = tag.attribute("type")?.lowercased() ?? "text"
        switch type {
        // Buttons count only when clicked; a file input has no file to send.
        case "submit", "image", "button", "reset", "file": return nil
        case "checkbox", "radio": return tag.has("checked") ? (name, tag.attribute("value") ?? "on") : nil
        default: return (name, tag.attribute("value") ?? "")
        }
    }

    /// The first form of `html` that submits to `path` (from a page at `pageURL`)
    /// with `method` (any method when nil).
    public static func form(in html: String, action path: String, method: String? = nil, pageURL: String? = nil) -> HTMLForm? {
        forms(in: html).first { form in
            form.actionPath(from: pageURL) == path && (method.map { $0.lowercased() == form.method } ?? true)
        }
    }

    /// The sign-in form of PROTOCOL.md: `<form method="post" action="/login">`.
    public static func signIn(in html: String, pageURL: String? = nil) -> HTMLForm? {
        form(in: html, action: "/login", method: "post", pageURL: pageURL)
    }

    /// The sign-out form of both hosts' `GET /`: `<form method="post" action="/logout">`.
    public static func logout(in html: String, pageURL: String? = nil) -> HTMLForm? {
        form(in: html, action: "/logout", method: "post", pageURL: pageURL)
    }

    /// Name and value of every submittable `<input>` of the page, inside a form or
    /// not, in page order.
    public static func inputs(in html: String) -> [(name: String, value: String)] {
        HTMLTokenizer.startTags(in: html).filter { $0.name == "input" }.compactMap(submitted)
    }

    /// The value of input `name` anywhere on the page.
    public static func value(_ name: String, in html: String) -> String? {
        inputs(in: html).first { $0.name == name }?.value
    }

    /// Undoes HTML escaping in text (see ``HTMLEntities``).
    public static func unescape(_ text: String) -> String {
        HTMLEntities.decode(text, inAttribute: false)
    }
}

/// Group names as PROTOCOL.md restricts them: 1 to 64 characters of `A-Za-z0-9._-`.
/// Nothing else can appear in a group rule or in `Baton-Groups`, which joins names with
/// commas.
public enum GroupName {
    public static let maximumLength = 64

    public static func isValid(_ name: String) -> Bool {
        (1...maximumLength).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    /// `staff,ops`: how groups are written in a header and in a store column.
    public static func joined(_ groups: [String]) -> String {
        groups.joined(separator: ",")
    }

    /// The valid names of a comma-separated list; empty entries and invalid names are dropped.
    public static func split(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init).filter(isValid)
    }
}

/// What Baton accepts as a user's email address: printable ASCII without spaces, one
/// `@` with something on each side, at most 254 bytes (RFC 5321's path limit). It is
/// passed on in `Baton-Email`, so it must be a safe header value; deliverability is the
/// operator's business.
public enum EmailAddress {
    public static func isValid(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard (3...254).contains(bytes.count), bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }),
            bytes.filter({ $0 == UInt8(ascii: "@") }).count == 1,
            let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1
        else { return false }
        return true
    }
}

/// Usernames as `baton users add` accepts them: 1 to 64 characters of
/// `A-Za-z0-9._-@`. ASCII only, because the username travels in `Baton-User`.
public enum Username {
    public static let maximumLength = 64

    public static func isValid(_ name: String) -> Bool {
        (1...maximumLength).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                GroupName.isValid(String(decoding: [byte], as: UTF8.self)) || byte == UInt8(ascii: "@")
            }
    }
}

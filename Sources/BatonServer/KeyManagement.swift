import BatonCore
import Foundation

/// `baton keys rotate` and `baton keys list`: they act on the key file of the login
/// host a configuration names (or the demo's); a running login host picks a rotation
/// up within a second, without a restart.
public enum KeyManagement {
    /// Rotates the keys of `login`: a new key of its `signing_algorithm`, published at
    /// once and signing after its `key_activation_delay_seconds`. Returns what to print.
    public static func rotate(_ login: LoginHostFile, clock: any BatonClock = SystemClock()) throws -> String {
        let before = FileManager.default.fileExists(atPath: login.signingKeys) ? try SigningKeyRing.load(from: login.signingKeys) : nil
        let (ring, added) = try SigningKeyRing.rotate(
            at: login.signingKeys, algorithm: login.host.signingAlgorithm, activationDelay: login.host.keyActivationDelay,
            clock: clock)
        let now = clock.now()
        var lines: [String] = []
        if let before {
            let wait = Int(added.activatesAt.timeIntervalSince(now).rounded(.up))
            lines.append(
                "New signing key \(added.key.kid) (\(added.key.algorithm.rawValue)) is published in the JWKS now "
                    + "and signs from \(format(added.activatesAt)) (in \(wait) s).")
            // The key the new one takes over from: the one before it in activation order.
            if let index = ring.keys.firstIndex(where: { $0.kid == added.key.kid }), index > 0 {
                lines.append(
                    "The key signing until then, \(ring.keys[index - 1].kid), stays published until "
                        + "\(format(added.activatesAt.addingTimeInterval(SigningKeyRing.retention))).")
            }
            let pruned = Set(before.keys.map(\.kid)).subtracting(ring.keys.map(\.kid))
            if !pruned.isEmpty { lines.append("Pruned \(pruned.count) expired key(s) from \(login.signingKeys).") }
        } else {
            lines.append("Created \(login.signingKeys) with signing key \(added.key.kid) (\(added.key.algorithm.rawValue)); it signs now.")
        }
        lines.append("")
        lines.append(listing(ring, at: now))
        return lines.joined(separator: "\n")
    }

    /// Every key of `login` with its algorithm, creation and state.
    public static func list(_ login: LoginHostFile, clock: any BatonClock = SystemClock()) throws -> String {
        guard FileManager.default.fileExists(atPath: login.signingKeys) else {
            return "No key file at \(login.signingKeys) yet: the login host creates it on first start."
        }
        return listing(try SigningKeyRing.load(from: login.signingKeys), at: clock.now())
    }

    /// One line per key: kid, algorithm, created, state.
    static func listing(_ ring: SigningKeyRing, at now: Date) -> String {
        let rows = ring.keys.indices.map { index -> [String] in
            let key = ring.keys[index]
            return [key.kid, key.algorithm.rawValue, format(key.createdAt), describe(ring.state(ofKeyAt: index, at: now))]
        }
        let table = [["KID", "ALG", "CREATED", "STATE"]] + rows
        let widths = (0..<3).map { column in table.map { $0[column].count }.max() ?? 0 }
        return table.map { row in
            (0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[3]
        }.joined(separator: "\n")
    }

    static func describe(_ state: SigningKeyRing.KeyState) -> String {
        switch state {
        case .pending(let activatesAt): "pending (published; signs from \(format(activatesAt)))"
        case .active: "active"
        case .retiring(let until): "retiring until \(format(until))"
        case .expired: "expired"
        }
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

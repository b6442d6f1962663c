import BatonCore
import Foundation
import Logging

/// `baton keys rotate` and `baton keys list`: they act on the keys of the login host a
/// configuration names (or the demo's), in its key file or in its store
/// (`signing_keys: "database"`); running login hosts pick a rotation up without a
/// restart, within a second from a file and within 5 s from the store.
public enum KeyManagement {
    /// Rotates the keys of `login`: a new key of its `signing_algorithm`, published at
    /// once and signing after its `key_activation_delay_seconds`. Returns what to print.
    /// `store` stands in for the one the file names (tests).
    public static func rotate(
        _ login: LoginHostFile, store: (any KeyRingStore)? = nil, clock: any BatonClock = SystemClock()
    ) async throws -> String {
        let before: SigningKeyRing?
        let ring: SigningKeyRing
        let added: SigningKeyRing.Entry
        let place: String
        switch login.signingKeys {
        case .file(let path):
            before = FileManager.default.fileExists(atPath: path) ? try SigningKeyRing.load(from: path) : nil
            (ring, added) = try SigningKeyRing.rotate(
                at: path, algorithm: login.host.signingAlgorithm, activationDelay: login.host.keyActivationDelay, clock: clock)
            place = path
        case .database:
            (before, ring, added) = try await SigningKeyRing.rotate(
                in: try await keyStore(login, store), algorithm: login.host.signingAlgorithm,
                activationDelay: login.host.keyActivationDelay, clock: clock)
            place = "the database's key ring"
        }
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
            if !pruned.isEmpty { lines.append("Pruned \(pruned.count) expired key(s) from \(place).") }
        } else {
            lines.append("Created \(place) with signing key \(added.key.kid) (\(added.key.algorithm.rawValue)); it signs now.")
        }
        lines.append("")
        lines.append(listing(ring, at: now))
        return lines.joined(separator: "\n")
    }

    /// Every key of `login` with its algorithm, creation and state.
    public static func list(
        _ login: LoginHostFile, store: (any KeyRingStore)? = nil, clock: any BatonClock = SystemClock()
    ) async throws -> String {
        switch login.signingKeys {
        case .file(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                return "No key file at \(path) yet: the login host creates it on first start."
            }
            return listing(try SigningKeyRing.load(from: path), at: clock.now())
        case .database:
            guard let ring = try await keyStore(login, store).keyRing() else {
                return "No key ring in the database yet: the login host creates it on first start."
            }
            return listing(ring, at: clock.now())
        }
    }

    /// `store`, or the store `login`'s `database` names.
    static func keyStore(_ login: LoginHostFile, _ store: (any KeyRingStore)?) async throws -> any KeyRingStore {
        if let store { return store }
        return try await StoreFactory.open(login.database, poolSize: 1, logger: Logger(label: "baton.keys"))
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

import Crypto
import Foundation

/// Random identifiers, their hashes, and constant-time comparison: the only ways
/// secrets are made, stored and compared in Baton.
public enum Secrets {
    /// `byteCount` random bytes from the system's CSPRNG, base64url encoded.
    public static func random(bytes byteCount: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(byteCount + 7)
        // Eight bytes per call to the system generator, not one.
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Base64URL.encode(bytes.prefix(byteCount))
    }

    /// SHA-256 of the text, base64url encoded: what a store keeps instead of a secret.
    public static func hash(_ secret: String) -> String {
        Base64URL.encode(SHA256.hash(data: Array(secret.utf8)))
    }

    /// Compares two byte strings without an early exit, so the time taken does not
    /// tell an attacker how many leading bytes were right.
    public static func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        // Compare against the longer length so a length mismatch costs the same.
        let left = Array(a)
        let right = Array(b)
        let length = max(left.count, right.count)
        for index in 0..<length {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    /// Constant-time comparison of two strings' UTF-8 bytes.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        constantTimeEquals(Array(a.utf8), Array(b.utf8))
    }

    /// A short, non-reversible fingerprint for logs: never the value itself.
    public static func fingerprint(_ value: String) -> String {
        String(hash(value).prefix(10))
    }
}

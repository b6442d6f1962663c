import Crypto
import Foundation

/// One sign-in a relying party has started: the `state` it sent to the login host
/// (also its `__Host-baton_state` cookie), where to go after, and when it began.
public struct SignInState: Sendable, Equatable {
    /// 128 random bits, the start time and a MAC over both and `returnTo`, base64url:
    /// a valid PROTOCOL.md state (54 characters of `A-Za-z0-9-_`), and the nonce of the
    /// token is SHA-256 of exactly this.
    public let state: String
    public let returnTo: String
    public let startedAt: Date
}

/// Starts and checks sign-ins without writing anything: `/sso/start` is open to anyone,
/// so it must not write durable storage. What a pending row used to hold travels with
/// the browser instead, under the relying party's own MAC: the start time inside the
/// state, and a return path other than `/` in a `__Host-baton_return` cookie the MAC
/// covers (a sign-in back to `/` needs the state cookie alone). A state that is not this
/// relying party's, was altered, or is older than ``lifetime`` does not open.
///
/// Single use rests, as it always did, on the token's jti being burned and on the nonce
/// binding the token to this state; the state cookie is cleared when it is used.
public struct SignInStateSealer: Sendable {
    /// How long a sign-in may take from `/sso/start` to the callback (the state cookie's Max-Age).
    public static let lifetime: TimeInterval = 300

    let key: SymmetricKey
    public let clientID: String
    /// The MAC keyed and fed its domain-separation prefix once; each tag starts from a copy.
    private let primed: HMAC<SHA256>

    /// A sealer whose key is derived from the relying party's client secret, so that
    /// every replica of one relying party opens the states of the others.
    public init(clientID: String, secret: String) {
        self.clientID = clientID
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Array(secret.utf8)), salt: Array("baton".utf8),
            info: Array("sign-in state v1 \(clientID)".utf8), outputByteCount: 32)
        var primed = HMAC<SHA256>(key: key)
        primed.update(data: Array("baton-state-v1\u{0}\(clientID)\u{0}".utf8))
        self.primed = primed
    }

    /// A new sign-in back to `returnTo` (already a checked local path), started at `now`.
    public func start(returnTo: String, at now: Date) -> SignInState {
        var random = SystemRandomNumberGenerator()
        var nonce: [UInt8] = []
        nonce.reserveCapacity(16)
        // Eight bytes per call to the system generator, not one.
        for _ in 0..<2 { withUnsafeBytes(of: random.next() as UInt64) { nonce.append(contentsOf: $0) } }
        let started = Self.milliseconds(now)
        let body = nonce + Self.bytes(started)
        let state = Base64URL.encode(body + tag(body, returnTo))
        return SignInState(state: state, returnTo: returnTo, startedAt: Date(timeIntervalSince1970: Double(started) / 1000))
    }

    /// The sign-in `state` and `returnCookie` describe, or nil when they are not this
    /// relying party's, were altered, or are older than ``lifetime``. Without a return
    /// cookie (or with one left over from an earlier sign-in) the return path is `/`.
    public func open(state: String, returnCookie: String?, now: Date) -> SignInState? {
        guard state.utf8.count == 54, let bytes = Base64URL.decode(state), bytes.count == 40 else { return nil }
        let body = Array(bytes[0..<24])
        let candidates = (returnCookie.flatMap(Self.decodeReturn).map { [$0] } ?? []) + ["/"]
        guard let returnTo = candidates.first(where: { Secrets.constantTimeEquals(bytes[24...], tag(body, $0)) }) else { return nil }
        let started = body[16..<24].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let startedAt = Date(timeIntervalSince1970: Double(started) / 1000)
        let age = now.timeIntervalSince(startedAt)
        // A clock that moved back a little is forgiven; a state from the future is not ours.
        guard age < Self.lifetime, age > -60 else { return nil }
        return SignInState(state: state, returnTo: returnTo, startedAt: startedAt)
    }

    /// The `__Host-baton_return` cookie's value for `returnTo`; nil for `/`, which needs none.
    public static func returnCookie(for returnTo: String) -> String? {
        returnTo == "/" ? nil : encodeReturn(returnTo)
    }

    /// `returnTo`, base64url: a cookie value whatever the path holds.
    public static func encodeReturn(_ returnTo: String) -> String { Base64URL.encode(Array(returnTo.utf8)) }

    static func decodeReturn(_ cookie: String) -> String? {
        guard let bytes = Base64URL.decode(cookie), let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return Redirects.localPath(text)
    }

    private func tag(_ body: [UInt8], _ returnTo: String) -> [UInt8] {
        var mac = primed
        mac.update(data: body)
        mac.update(data: Array(returnTo.utf8))
        return Array(Array(mac.finalize()).prefix(16))
    }

    private static func milliseconds(_ date: Date) -> UInt64 { UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down))) }

    private static func bytes(_ value: UInt64) -> [UInt8] { (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) } }
}

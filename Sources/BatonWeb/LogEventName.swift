import BatonCore
import Logging

/// The stable name of a log line worth finding again: its `event` metadata, which a
/// log pipeline can match on whatever the message says. Security events are logged at
/// warning (PROTOCOL.md's list: replay, state mismatch, bad signature, unknown key,
/// throttled, not_permitted, store failure), with fingerprints (``Secrets/fingerprint(_:)``)
/// and never a token, cookie, password or secret. README lists them all.
public struct LogEventName: RawRepresentable, Sendable, Hashable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// A refused redemption: its `Baton-Error` code (`token_replayed`, `state_mismatch` …).
    public init(refusal: BatonError) { self.init(rawValue: refusal.code) }

    // Security events (warning).
    public static let signInRefused = LogEventName(rawValue: "sign_in_refused")
    public static let signInThrottled = LogEventName(rawValue: "sign_in_throttled")
    public static let signInBusy = LogEventName(rawValue: "sign_in_busy")
    public static let csrfInvalid = LogEventName(rawValue: "csrf_invalid")
    public static let handoffRefused = LogEventName(rawValue: "handoff_refused")
    public static let backChannelUnauthorized = LogEventName(rawValue: "backchannel_unauthorized")
    public static let logoutTokenInvalid = LogEventName(rawValue: "logout_token_invalid")
    public static let logoutTokenReplayed = LogEventName(rawValue: "logout_token_replayed")
    public static let jwksFetchFailed = LogEventName(rawValue: "jwks_fetch_failed")
    public static let notPermitted = LogEventName(refusal: .notPermitted)
    /// An outage as much as a refusal: a redemption, a page or a lookup the store failed.
    public static let storeUnavailable = LogEventName(refusal: .storeUnavailable)

    // What happened, at info or notice.
    public static let signedIn = LogEventName(rawValue: "signed_in")
    public static let loginSessionEnded = LogEventName(rawValue: "login_session_ended")
    public static let logoutDelivered = LogEventName(rawValue: "logout_delivered")
    public static let logoutDeliveryFailed = LogEventName(rawValue: "logout_delivery_failed")
    public static let logoutDeliveryGivenUp = LogEventName(rawValue: "logout_delivery_given_up")
    public static let backChannelLogout = LogEventName(rawValue: "backchannel_logout")
    public static let rpSessionEnded = LogEventName(rawValue: "rp_session_ended")

    /// The level a redemption refused with `refusal` is logged at: warning for every
    /// refusal an attacker could be behind; notice for the three an honest browser meets
    /// (a link opened after its 10 s, a callback without its token, a session ended on
    /// the login host meanwhile).
    public static func level(for refusal: BatonError) -> Logger.Level {
        switch refusal {
        case .tokenExpired, .tokenMissing, .sessionEnded: .notice
        default: .warning
        }
    }
}

extension Logger {
    /// Logs `message` at `level` with `event` in its metadata beside `metadata`.
    public func event(
        _ event: LogEventName, level: Logger.Level = .warning, _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata = [:], file: String = #fileID, function: String = #function, line: UInt = #line
    ) {
        guard logLevel <= level else { return }
        var all = metadata()
        all["event"] = .string(event.rawValue)
        log(level: level, message(), metadata: all, file: file, function: function, line: line)
    }
}

/// Every refusal Baton can give, spelled exactly as the `Baton-Error` header of
/// PROTOCOL.md, with its HTTP status and the words a person sees.
public enum BatonError: String, Error, CaseIterable, Sendable {
    case tokenMissing = "token_missing"
    case tokenMalformed = "token_malformed"
    case tokenUnsupportedAlg = "token_unsupported_alg"
    case tokenWrongType = "token_wrong_type"
    case tokenUnknownKey = "token_unknown_key"
    case tokenInvalidSignature = "token_invalid_signature"
    case tokenWrongIssuer = "token_wrong_issuer"
    case tokenWrongAudience = "token_wrong_audience"
    case tokenExpired = "token_expired"
    case tokenNotYetValid = "token_not_yet_valid"
    case tokenLifetimeTooLong = "token_lifetime_too_long"
    case tokenReplayed = "token_replayed"
    case stateMissing = "state_missing"
    case stateMismatch = "state_mismatch"
    case sessionEnded = "session_ended"
    case notPermitted = "not_permitted"
    case storeUnavailable = "store_unavailable"

    /// The code as it appears in the `Baton-Error` header.
    public var code: String { rawValue }

    /// The HTTP status PROTOCOL.md gives this code.
    public var status: Int {
        switch self {
        case .tokenMissing, .tokenMalformed: 400
        case .tokenReplayed, .stateMissing, .stateMismatch, .notPermitted: 403
        case .storeUnavailable: 503
        default: 401
        }
    }

    /// A short title for the error page.
    public var title: String {
        switch self {
        case .tokenReplayed: "This sign-in link was already used"
        case .tokenExpired: "This sign-in link has expired"
        case .stateMissing, .stateMismatch: "This sign-in did not start here"
        case .sessionEnded: "You have been signed out"
        case .notPermitted: "You do not have access to this site"
        case .storeUnavailable: "Sign-in is unavailable for a moment"
        case .tokenMissing: "The sign-in link is incomplete"
        default: "This sign-in link is not valid"
        }
    }

    /// What happened and what to do, in plain words.
    public var explanation: String {
        switch self {
        case .tokenMissing:
            "The page was opened without its sign-in token. Start again from the dashboard."
        case .tokenMalformed:
            "The sign-in token is damaged or not in the form this site accepts. Sign in again."
        case .tokenUnsupportedAlg:
            "The sign-in token was signed with a method this site does not accept. Sign in again."
        case .tokenWrongType:
            "The token is not a sign-in handoff token. Sign in again."
        case .tokenUnknownKey:
            "The sign-in token was signed with a key this site does not know. Sign in again."
        case .tokenInvalidSignature:
            "The sign-in token's signature does not match: it may have been altered. Sign in again."
        case .tokenWrongIssuer:
            "The sign-in token comes from a login service this site does not trust. Sign in again."
        case .tokenWrongAudience:
            "The sign-in token was made for a different site. Sign in again."
        case .tokenExpired:
            "Sign-in links are only valid for a few seconds. Sign in again."
        case .tokenNotYetValid:
            "The sign-in token claims to come from the future; a clock may be wrong. Sign in again."
        case .tokenLifetimeTooLong:
            "The sign-in token asks to live longer than this site allows. Sign in again."
        case .tokenReplayed:
            "This sign-in link was already used. Sign in again."
        case .stateMissing:
            "This browser did not start this sign-in, or it took longer than five minutes. Sign in again."
        case .stateMismatch:
            "This sign-in link belongs to a different sign-in attempt. Sign in again."
        case .sessionEnded:
            "Your session on the login service has ended. Sign in again."
        case .notPermitted:
            "You are signed in, but your account is not in a group this site admits. Ask its administrator for access."
        case .storeUnavailable:
            "The sign-in service could not reach its storage, so nothing was accepted. Try again in a moment."
        }
    }
}

import Testing

@testable import BatonCore

@Suite("BatonError: the Baton-Error table")
struct BatonErrorTests {
    @Test("every code has PROTOCOL.md's spelling and status")
    func errorTable() {
        let table: [(BatonError, String, Int)] = [
            (.tokenMissing, "token_missing", 400), (.tokenMalformed, "token_malformed", 400),
            (.tokenUnsupportedAlg, "token_unsupported_alg", 401), (.tokenWrongType, "token_wrong_type", 401),
            (.tokenUnknownKey, "token_unknown_key", 401), (.tokenInvalidSignature, "token_invalid_signature", 401),
            (.tokenWrongIssuer, "token_wrong_issuer", 401), (.tokenWrongAudience, "token_wrong_audience", 401),
            (.tokenExpired, "token_expired", 401), (.tokenNotYetValid, "token_not_yet_valid", 401),
            (.tokenLifetimeTooLong, "token_lifetime_too_long", 401), (.tokenReplayed, "token_replayed", 403),
            (.stateMissing, "state_missing", 403), (.stateMismatch, "state_mismatch", 403),
            (.sessionEnded, "session_ended", 401), (.notPermitted, "not_permitted", 403),
            (.storeUnavailable, "store_unavailable", 503),
        ]
        #expect(table.count == BatonError.allCases.count)
        for (error, code, status) in table {
            #expect(error.code == code)
            #expect(error.status == status, "\(code)")
        }
    }
}

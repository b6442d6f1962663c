import Testing

@testable import BatonCore

/// `token_wrong_type`: explicit typing (RFC 8725 §3.11), so a token minted for one
/// purpose, such as back-channel logout, is never accepted as a handoff.
@Suite("HandoffVerifier: token_wrong_type")
struct HandoffTokenTypeTests {
    @Test("typ missing")
    func typMissing() async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: f.header(typ: nil))) == .tokenWrongType)
    }

    @Test(
        "typ other than handoff+jwt, byte for byte",
        arguments: [
            "JWT", "jwt", "logout+jwt", "handoff+JWT", "HANDOFF+JWT", "Handoff+jwt", "application/handoff+jwt",
            "at+jwt", "", "handoff+jwt ", " handoff+jwt", "handoff", "handoff+jwt+jwt", "handoff\u{2B}jwt\u{200B}",
        ])
    func typOther(typ: String) async throws {
        let f = try await VerifierFixture()
        #expect(await f.refusal(try f.signed(header: f.header(typ: typ))) == .tokenWrongType)
    }

    @Test("a logout verifier refuses a handoff token, and a handoff verifier a logout-typed one")
    func typesDoNotCross() async throws {
        let f = try await VerifierFixture()
        let logoutVerifier = HandoffVerifier(
            issuer: VerifierFixture.issuer, audience: VerifierFixture.audience, keys: f.keys, clock: f.clock,
            expectedType: .logout)
        let handoff = try f.signed()
        await #expect(throws: BatonError.tokenWrongType) { try await logoutVerifier.verify(handoff) }
        #expect(await f.refusal(try f.signed(header: f.header(typ: TokenType.logout.rawValue))) == .tokenWrongType)
    }
}

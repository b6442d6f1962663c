import Foundation
import Testing

@testable import BatonCore

/// `token_invalid_signature`: the signature covers exactly `header.payload` with
/// the key the kid names, and has exactly one valid encoding.
@Suite("HandoffVerifier: token_invalid_signature")
struct HandoffSignatureTests {
    /// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
    static let groupOrder: [UInt8] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ]

    /// The signature with L added to its little-endian S half (bytes 32...63).
    static func addingGroupOrder(to signature: [UInt8]) -> [UInt8] {
        var out = signature
        var carry: UInt16 = 0
        for index in 0..<32 {
            let sum = UInt16(out[32 + index]) + UInt16(groupOrder[index]) + carry
            out[32 + index] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        precondition(carry == 0, "S + L fits in 32 bytes since S < L < 2^253")
        return out
    }

    @Test("a tampered payload")
    func tamperedPayload() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let forged = f.claims(["sid": q("sid-of-someone-else")])
        let token = p.header + "." + TokenForge.part(forged) + "." + p.signature
        #expect(await f.refusal(token) == .tokenInvalidSignature)
    }

    @Test("a header re-spelled with the same meaning")
    func respelledHeader() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let respelled = #"{"typ":"handoff+jwt","kid":"\#(f.issuerKey.kid)","alg":"EdDSA"}"#
        #expect(await f.refusal(TokenForge.part(respelled) + "." + p.payload + "." + p.signature) == .tokenInvalidSignature)
        let spaced = #"{"alg": "EdDSA", "kid": "\#(f.issuerKey.kid)", "typ": "handoff+jwt"}"#
        #expect(await f.refusal(TokenForge.part(spaced) + "." + p.payload + "." + p.signature) == .tokenInvalidSignature)
    }

    @Test("another valid token's signature")
    func anotherTokensSignature() async throws {
        let f = try await VerifierFixture()
        let a = try TokenParts(try f.signed())
        let b = try TokenParts(try f.signed())
        #expect(await f.refusal(a.token) == nil)
        #expect(await f.refusal(b.token) == nil)
        #expect(await f.refusal(a.signingInput + "." + b.signature) == .tokenInvalidSignature)
    }

    @Test("an empty signature")
    func emptySignature() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        #expect(await f.refusal(p.signingInput + ".") == .tokenInvalidSignature)
    }

    @Test("a signature of the wrong length", arguments: [1, 32, 63, 65, 96, 128, 512])
    func wrongLength(length: Int) async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let real = try #require(Base64URL.decode(p.signature))
        let bytes = length <= 64 ? Array(real.prefix(length)) : real + [UInt8](repeating: 0, count: length - 64)
        #expect(await f.refusal(p.signingInput + "." + Base64URL.encode(bytes)) == .tokenInvalidSignature)
    }

    @Test("every single flipped bit of the signature")
    func flippedBits() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        let real = try #require(Base64URL.decode(p.signature))
        for bit in stride(from: 0, to: 512, by: 7) {
            var bytes = real
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(await f.refusal(p.signingInput + "." + Base64URL.encode(bytes)) == .tokenInvalidSignature, "bit \(bit)")
        }
    }

    @Test("the all-zero signature and a signature over only the payload")
    func degenerateSignatures() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        #expect(await f.refusal(p.signingInput + "." + Base64URL.encode([UInt8](repeating: 0, count: 64))) == .tokenInvalidSignature)
        let payloadOnly = Base64URL.encode(try f.issuerKey.signature(over: p.payload))
        #expect(await f.refusal(p.signingInput + "." + payloadOnly) == .tokenInvalidSignature)
    }

    @Test("Ed25519 malleability: S + L instead of S")
    func malleableSignature() async throws {
        let f = try await VerifierFixture()
        let p = try TokenParts(try f.signed())
        #expect(await f.refusal(p.token) == nil)
        let real = try #require(Base64URL.decode(p.signature))
        try #require(real.count == 64)
        let malleated = Self.addingGroupOrder(to: real)
        #expect(malleated != real)
        #expect(malleated[..<32] == real[..<32])
        #expect(await f.refusal(p.signingInput + "." + Base64URL.encode(malleated)) == .tokenInvalidSignature)
    }

    @Test("the canonical-scalar check: below L passes, L and above do not")
    func canonicalScalar() {
        let order = Self.groupOrder
        #expect(Ed25519.isCanonicalScalar(ArraySlice([UInt8](repeating: 0, count: 32))))
        var belowOrder = order
        belowOrder[0] -= 1
        #expect(Ed25519.isCanonicalScalar(ArraySlice(belowOrder)))
        #expect(!Ed25519.isCanonicalScalar(ArraySlice(order)))
        var aboveOrder = order
        aboveOrder[0] += 1
        #expect(!Ed25519.isCanonicalScalar(ArraySlice(aboveOrder)))
        var highBitSet = [UInt8](repeating: 0, count: 32)
        highBitSet[31] = 0x20
        #expect(!Ed25519.isCanonicalScalar(ArraySlice(highBitSet)))
        #expect(!Ed25519.isCanonicalScalar(ArraySlice([UInt8](repeating: 0xff, count: 32))))
        #expect(!Ed25519.isCanonicalScalar(ArraySlice([UInt8](repeating: 0, count: 31))))
        // S + L of any real S is never canonical.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<64 {
            var s = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            s[31] &= 0x0f
            #expect(Ed25519.isCanonicalScalar(ArraySlice(s)))
            let sPlusL = Self.addingGroupOrder(to: [UInt8](repeating: 0, count: 32) + s)
            #expect(!Ed25519.isCanonicalScalar(sPlusL[32...]))
        }
    }
}

import Foundation
import Testing

@testable import BatonCore

/// Project Wycheproof's Ed25519 and ECDSA P-256/SHA-256 (IEEE P1363) vectors through
/// the signature step of Baton's verifier (Tests/BatonCoreTests/Wycheproof/).
///
/// A JWS signature covers `base64url(header).base64url(payload)`, so a Wycheproof
/// message cannot travel inside a token. Each vector goes instead through
/// ``TokenVerifier/checkSignature(_:over:kid:)`` — the code `verify` runs once the token
/// is parsed: the signature's shape (64 bytes; for Ed25519 S < L), then swift-crypto's
/// check with the trusted key — with the group's public key imported as a relying party
/// imports a JWKS (``JWKSDocument/init(json:)``, ``PublicJWK/verifyingKey``). The same
/// verdict is also asked of ``SigningAlgorithm/isWellFormedSignature(_:)`` and
/// ``VerifyingKey/isValidSignature(_:for:)`` directly.
@Suite("Wycheproof: Ed25519 and ECDSA P-256 SHA-256 (P1363) vectors through the verifier's signature check")
struct WycheproofTests {
    @Test("every Ed25519 vector: valid accepted, invalid refused, acceptable as documented")
    func ed25519() async throws {
        let file = try WycheproofFile.load("ed25519_test.json")
        #expect(file.algorithm == "EDDSA")
        let run = try await file.run(algorithm: .eddsa)
        // An empty or truncated file cannot pass.
        #expect(run.counts == ["valid": 117, "invalid": 64, "acceptable": 29])
        #expect(run.total == 210 && run.total == file.numberOfTests)
        #expect(run.mismatches.isEmpty, "Baton differs from Wycheproof: \(run.mismatches.joined(separator: "; "))")
        // S + L and its kin are refused by Baton's own S < L check, before swift-crypto
        // (which refuses them too, so the verdicts above cannot tell the two apart).
        let malleable = file.testGroups.flatMap(\.tests).filter { $0.flags.contains("SignatureMalleability") }
        #expect(malleable.count == 8)
        for test in malleable {
            #expect(!SigningAlgorithm.eddsa.isWellFormedSignature(try Hex.bytes(test.sig)), "tcId \(test.tcId) passes the S < L check")
        }
        // "Acceptable": signatures under small-order (torsion) or mixed-order public keys
        // that satisfy RFC 8032's cofactored equation. swift-crypto (BoringSSL) checks no
        // subgroup membership of a public key, and these signatures satisfy its
        // cofactorless check too, so Baton accepts all 29 — as RFC 8032 allows. It
        // matters little here: a relying party trusts only the keys its login host
        // publishes, and a login host's keys come from random seeds, never a torsion
        // point. Pinned, so that a change in swift-crypto is seen.
        #expect(run.acceptedAcceptable == Self.acceptableEd25519Accepted, "acceptable vectors Baton accepts")
    }

    /// The tcIds of the "acceptable" Ed25519 vectors that Baton accepts today: all of them.
    static let acceptableEd25519Accepted = Array(152...180)

    @Test("every ECDSA P-256 SHA-256 P1363 vector: valid accepted, invalid refused")
    func ecdsaP256() async throws {
        let file = try WycheproofFile.load("ecdsa_secp256r1_sha256_p1363_test.json")
        #expect(file.algorithm == "ECDSA")
        #expect(file.testGroups.allSatisfy { $0.sha == "SHA-256" && $0.publicKey.curve == "secp256r1" })
        let run = try await file.run(algorithm: .es256)
        #expect(run.counts == ["valid": 173, "invalid": 89])
        #expect(run.total == 262 && run.total == file.numberOfTests)
        #expect(run.mismatches.isEmpty, "Baton differs from Wycheproof: \(run.mismatches.joined(separator: "; "))")
        // ES256 is malleable: with (r, s) valid, so is (r, n - s), and Wycheproof calls
        // both valid (tcId 1). Baton takes either, as RFC 7518 does: a token is single
        // use by its jti, which the signature does not cover differently, so a second
        // spelling of one signature is the same token, burned once.
        #expect(run.acceptedValid.contains(1))
    }
}

/// One Wycheproof signature-verification file, v1 format.
struct WycheproofFile: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    struct Group: Decodable {
        let publicKey: PublicKey
        /// The key as a JWK, when the file gives one; otherwise built from `publicKey`.
        let publicKeyJwk: [String: String]?
        let sha: String?
        let tests: [Case]
    }

    struct PublicKey: Decodable {
        let curve: String
        /// Ed25519: the 32-byte key, hex.
        let pk: String?
        /// P-256: the coordinates, hex, as ASN.1 integers (a leading 00 when the top bit is set).
        let wx: String?
        let wy: String?
    }

    struct Case: Decodable {
        let tcId: Int
        let comment: String
        let flags: [String]
        let msg: String
        let sig: String
        let result: String
    }

    /// What Baton answered, against what the file expects.
    struct Run {
        var counts: [String: Int] = [:]
        var total = 0
        var mismatches: [String] = []
        var acceptedValid: [Int] = []
        var acceptedAcceptable: [Int] = []
    }

    /// The folder beside this test, found from the source path.
    static func load(_ name: String) throws -> WycheproofFile {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Wycheproof/\(name)")
        return try JSONDecoder().decode(WycheproofFile.self, from: Data(contentsOf: url))
    }

    /// Every vector through a verifier pinned to `algorithm` that trusts only the group's key.
    func run(algorithm: SigningAlgorithm) async throws -> Run {
        var run = Run()
        for (index, group) in testGroups.enumerated() {
            let kid = "wycheproof-\(index)"
            let jwks = try JWKSDocument(json: group.jwksJSON(kid: kid, algorithm: algorithm))
            try #require(jwks.keys.count == 1, "group \(index): the JWKS import kept its key")
            let key = try #require(jwks.keys[0].verifyingKey, "group \(index): the key imports")
            #expect(key.algorithm == algorithm)
            let verifier = HandoffVerifier(
                issuer: "wycheproof", audience: "wycheproof", keys: try await TrustedKeySet(fixed: jwks), clock: ManualClock(),
                algorithm: algorithm)
            for test in group.tests {
                run.total += 1
                run.counts[test.result, default: 0] += 1
                let message = try Hex.bytes(test.msg)
                let signature = try Hex.bytes(test.sig)
                let accepted: Bool
                do {
                    try await verifier.checkSignature(signature, over: message, kid: kid)
                    accepted = true
                } catch {
                    // The key is trusted: a refusal is a bad signature, never an unknown key.
                    #expect(error == .tokenInvalidSignature, "tcId \(test.tcId)")
                    accepted = false
                }
                let direct = algorithm.isWellFormedSignature(signature) && key.isValidSignature(signature, for: message)
                #expect(direct == accepted, "tcId \(test.tcId): the verifier and its parts disagree")
                switch test.result {
                case "valid":
                    if accepted { run.acceptedValid.append(test.tcId) } else { run.mismatches.append(test.describe("refused")) }
                case "invalid":
                    if accepted { run.mismatches.append(test.describe("accepted")) }
                case "acceptable":
                    if accepted { run.acceptedAcceptable.append(test.tcId) }
                default:
                    run.mismatches.append(test.describe("unknown result \(test.result)"))
                }
            }
        }
        return run
    }
}

extension WycheproofFile.Group {
    /// `{"keys":[jwk]}` with the file's JWK (its `kid` replaced), or one made from the raw key.
    func jwksJSON(kid: String, algorithm: SigningAlgorithm) throws -> [UInt8] {
        var jwk: [String: String]
        if let given = publicKeyJwk {
            jwk = given
        } else {
            switch algorithm {
            case .eddsa:
                jwk = ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(try Hex.bytes(try #require(publicKey.pk)))]
            case .es256:
                jwk = [
                    "kty": "EC", "crv": "P-256",
                    "x": Base64URL.encode(try Hex.coordinate(try #require(publicKey.wx))),
                    "y": Base64URL.encode(try Hex.coordinate(try #require(publicKey.wy))),
                ]
            }
        }
        // The JWK must be the key the group names, not some other spelling of it.
        switch algorithm {
        case .eddsa: #expect(Base64URL.decode(jwk["x"] ?? "") == (try Hex.bytes(try #require(publicKey.pk))))
        case .es256:
            #expect(Base64URL.decode(jwk["x"] ?? "") == (try Hex.coordinate(try #require(publicKey.wx))))
            #expect(Base64URL.decode(jwk["y"] ?? "") == (try Hex.coordinate(try #require(publicKey.wy))))
        }
        jwk["kid"] = kid
        return Array(try JSONEncoder().encode(["keys": [jwk]]))
    }
}

extension WycheproofFile.Case {
    func describe(_ what: String) -> String {
        "tcId \(tcId) (\(result), \(flags.joined(separator: ",")), \(comment)) \(what)"
    }
}

enum Hex {
    struct Invalid: Error {}

    static func bytes(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw Invalid() }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { throw Invalid() }
            return byte
        }
    }

    /// A P-256 coordinate as its 32 bytes: the ASN.1 sign byte dropped, short values padded.
    static func coordinate(_ text: String) throws -> [UInt8] {
        var bytes = try bytes(text)
        while bytes.count > 32, bytes.first == 0 { bytes.removeFirst() }
        guard bytes.count <= 32 else { throw Invalid() }
        return [UInt8](repeating: 0, count: 32 - bytes.count) + bytes
    }
}

import Foundation
import Testing

@testable import BatonCore

/// The published protocol test vectors (`docs/vectors/handoff-vectors.json`, written by
/// `docs/vectors/generate.py`) run through Baton's own verifier: what we tell other
/// implementations to expect is what Baton does.
@Suite("Protocol vectors: docs/vectors/handoff-vectors.json")
struct ProtocolVectorsTests {
    /// How many vectors generate.py writes today. A file with fewer fails, so an empty or
    /// truncated file cannot pass; raise it when vectors are added.
    static let minimumVectorCount = 84

    /// The file, or nil when it cannot be read (``fileHoldsEveryVector`` then says why).
    static let file: ProtocolVectorFile? = try? ProtocolVectorFile.load()

    @Test("the file loads and holds every vector, each with a known expected outcome")
    func fileHoldsEveryVector() throws {
        let file = try ProtocolVectorFile.load()
        #expect(file.vectors.count >= Self.minimumVectorCount)
        #expect(file.vectors.count == file.vectorCount)
        let names = file.vectors.map(\.name)
        #expect(Set(names).count == names.count, "vector names are unique")
        for vector in file.vectors {
            #expect(!vector.expected.isEmpty, "\(vector.name)")
            for outcome in vector.expected where outcome != "valid" {
                #expect(BatonError(rawValue: outcome) != nil, "\(vector.name): \(outcome) is not a Baton-Error code")
            }
        }
        #expect(file.vectors.contains { $0.expected == ["valid"] })
        #expect(file.vectors.contains { $0.expected == ["state_mismatch"] })
    }

    @Test("the file's key is the one its seed makes, under the RFC 7638 thumbprint Baton computes")
    func testKeyMatchesItsSeed() throws {
        let file = try ProtocolVectorFile.load()
        let key = try SigningKey(seed: try file.seed(), createdAt: Date(timeIntervalSince1970: 0))
        #expect(file.jwks.keys == [key.publicJWK])
        #expect(file.jwks.keys.first?.kid == PublicJWK.thumbprint(x: key.publicJWK.x))
    }

    @Test(
        "each vector gets the outcome it expects, or one of them when it has several faults",
        arguments: ProtocolVectorsTests.file?.vectors ?? [])
    func vectorOutcome(_ vector: ProtocolVector) async throws {
        let file = try #require(Self.file)
        let (outcome, claims) = await file.outcome(of: vector, verifier: try await file.verifier())
        #expect(vector.expected.contains(outcome), "Baton answers \(outcome); the vector expects \(vector.expected)")
        switch vector.verifier {
        case "passes": #expect(claims != nil, "the verifier must accept this token")
        case "refuses": #expect(claims == nil, "the verifier must refuse this token")
        default: break
        }
    }

    @Test("the state-mismatch vector passes the verifier and fails the nonce check; valid vectors pass both")
    func stateBinding() async throws {
        let file = try ProtocolVectorFile.load()
        let verifier = try await file.verifier()
        let mismatch = try #require(file.vectors.first { $0.name == "state_mismatch" })
        #expect(mismatch.verifier == "passes" && mismatch.stateCheck == "fails")
        let claims = try await verifier.verify(mismatch.token)
        #expect(claims.nonce != HandoffClaims.nonce(forState: mismatch.state))
        let valid = file.vectors.filter { $0.expected == ["valid"] }
        #expect(valid.count >= 5)
        for vector in valid {
            let claims = try await verifier.verify(vector.token)
            #expect(claims.nonce == HandoffClaims.nonce(forState: vector.state), "\(vector.name)")
        }
    }
}

/// `handoff-vectors.json`, as docs/vectors/README.md describes it.
struct ProtocolVectorFile: Decodable, Sendable {
    let issuer: String
    let audience: String
    let now: Int64
    let leewaySeconds: Int64
    let maxLifetimeSeconds: Int64
    let testKey: TestKey
    let jwks: JWKSDocument
    let vectorCount: Int
    let vectors: [ProtocolVector]

    struct TestKey: Decodable, Sendable {
        let seedHex: String

        enum CodingKeys: String, CodingKey {
            case seedHex = "seed_hex"
        }
    }

    enum CodingKeys: String, CodingKey {
        case issuer, audience, now, jwks, vectors
        case leewaySeconds = "leeway_seconds"
        case maxLifetimeSeconds = "max_lifetime_seconds"
        case testKey = "test_key"
        case vectorCount = "vector_count"
    }

    /// The file beside this test, found from the source path: `Tests/BatonCoreTests/` →
    /// the repository root → `docs/vectors/`.
    static var url: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/vectors/handoff-vectors.json")
    }

    static func load() throws -> ProtocolVectorFile {
        try JSONDecoder().decode(ProtocolVectorFile.self, from: Data(contentsOf: url))
    }

    /// The 32-byte Ed25519 seed of the test key.
    func seed() throws -> [UInt8] {
        let digits = Array(testKey.seedHex.utf8)
        try #require(digits.count == 64)
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            try #require(UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16))
        }
    }

    /// A relying party's verifier as the file describes it, its clock stopped at `now`.
    func verifier() async throws -> HandoffVerifier {
        let clock = ManualClock(Date(timeIntervalSince1970: TimeInterval(now)))
        return HandoffVerifier(
            issuer: issuer, audience: audience, keys: try await TrustedKeySet(fixed: jwks, clock: clock), clock: clock,
            leeway: leewaySeconds, maximumLifetime: maxLifetimeSeconds)
    }

    /// What a relying party answers for `vector`, up to the state check: the verifier's
    /// refusal, or `valid` / `state_mismatch` after comparing the nonce with the state.
    func outcome(of vector: ProtocolVector, verifier: HandoffVerifier) async -> (String, HandoffClaims?) {
        do {
            let claims = try await verifier.verify(vector.token)
            let bound = Secrets.constantTimeEquals(claims.nonce, HandoffClaims.nonce(forState: vector.state))
            return (bound ? "valid" : BatonError.stateMismatch.code, claims)
        } catch {
            return (error.code, nil)
        }
    }
}

/// One vector: a token, the state the relying party holds, and the acceptable outcomes.
struct ProtocolVector: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let summary: String
    let token: String
    let state: String
    /// `valid`, or the `Baton-Error` codes of which any one is a correct answer.
    let expected: [String]
    /// `passes`, `refuses` or `either`: whether the verifier (steps 1 and 2) accepts it.
    let verifier: String
    /// `passes` or `fails` when the nonce check is reached.
    let stateCheck: String?

    var testDescription: String { name }

    enum CodingKeys: String, CodingKey {
        case name, token, state, expected, verifier
        case summary = "description"
        case stateCheck = "state_check"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        summary = try container.decode(String.self, forKey: .summary)
        token = try container.decode(String.self, forKey: .token)
        state = try container.decode(String.self, forKey: .state)
        // One outcome is written as a string, several as an array.
        if let single = try? container.decode(String.self, forKey: .expected) {
            expected = [single]
        } else {
            expected = try container.decode([String].self, forKey: .expected)
        }
        verifier = try container.decode(String.self, forKey: .verifier)
        stateCheck = try container.decodeIfPresent(String.self, forKey: .stateCheck)
    }
}

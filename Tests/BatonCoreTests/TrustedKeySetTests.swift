import Foundation
import Testing

@testable import BatonCore

/// Counts JWKS fetches and serves whichever document it holds at the time.
actor FakeJWKSEndpoint {
    private(set) var fetches = 0
    var document: JWKSDocument
    var failing = false

    init(_ document: JWKSDocument) { self.document = document }

    func serve() throws -> JWKSDocument {
        fetches += 1
        if failing { throw StoreError("login host unreachable") }
        return document
    }

    func publish(_ document: JWKSDocument) { self.document = document }
    func setFailing(_ failing: Bool) { self.failing = failing }
}

/// An unknown kid refetches the JWKS at most once per `refetchInterval`, so a flood
/// of forged kids cannot turn a relying party into a load generator.
@Suite("TrustedKeySet: fetched keys")
struct TrustedKeySetTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
    let first: TokenForge
    let second: TokenForge

    init() throws {
        first = try TokenForge(seedByte: 0x31)
        second = try TokenForge(seedByte: 0x32)
    }

    private func keySet(_ endpoint: FakeJWKSEndpoint, interval: TimeInterval = 30) -> TrustedKeySet {
        TrustedKeySet(fetchingWith: { try await endpoint.serve() }, clock: clock, refetchInterval: interval)
    }

    @Test("the first use fetches; a known kid never fetches again")
    func knownKidDoesNotFetch() async {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        #expect(await endpoint.fetches == 0)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 1)
        for _ in 0..<20 {
            clock.advance(by: 60)
            #expect(await keys.contains(kid: first.kid))
        }
        #expect(await endpoint.fetches == 1)
    }

    @Test("a flood of unknown kids refetches at most once per interval")
    func unknownKidRefetchIsRateLimited() async {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 1)
        for index in 0..<100 {
            #expect(await !keys.contains(kid: "forged-\(index)"))
        }
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 29)
        #expect(await !keys.contains(kid: "forged-x"))
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 1)  // 30 s after the last fetch
        #expect(await !keys.contains(kid: "forged-y"))
        #expect(await endpoint.fetches == 2)
        for index in 0..<100 {
            #expect(await !keys.contains(kid: "forged-again-\(index)"))
        }
        #expect(await endpoint.fetches == 2)
        clock.advance(by: 30)
        #expect(await !keys.contains(kid: "forged-z"))
        #expect(await endpoint.fetches == 3)
    }

    @Test("concurrent unknown kids share one refetch")
    func concurrentUnknownKids() async {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        await withTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask { await keys.contains(kid: "forged-\(index)") }
            }
            for await found in group { #expect(!found) }
        }
        #expect(await endpoint.fetches == 1)
    }

    @Test("callers arriving during the first fetch wait for it instead of refusing a good kid")
    func concurrentFirstUseWaitsForTheFetch() async {
        let document = JWKSDocument(keys: [first.signingKey.publicJWK])
        let fetches = FetchCounter()
        // A slow login host: every caller arrives while the first fetch is under way.
        let keys = TrustedKeySet(
            fetchingWith: {
                await fetches.increment()
                try await Task.sleep(for: .milliseconds(200))
                return document
            }, clock: clock)
        let kid = first.kid
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 {
                group.addTask { await keys.contains(kid: kid) }
            }
            for await found in group { #expect(found) }
        }
        #expect(await fetches.count == 1)
    }

    @Test("a rotated key is picked up by the next allowed refetch")
    func rotation() async throws {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        await endpoint.publish(JWKSDocument(keys: [first.signingKey.publicJWK, second.signingKey.publicJWK]))
        // Within the interval the new kid is not fetched for...
        clock.advance(by: 5)
        #expect(await !keys.contains(kid: second.kid))
        #expect(await endpoint.fetches == 1)
        // ...after it, one refetch makes it known.
        clock.advance(by: 30)
        #expect(await keys.contains(kid: second.kid))
        #expect(await endpoint.fetches == 2)

        // And a token signed with it verifies.
        let verifier = HandoffVerifier(issuer: VerifierFixture.issuer, audience: "dashboard", keys: keys, clock: clock)
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: second.signingKey, clock: clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        #expect(try await verifier.verify(minted.token).jti == minted.jti)
    }

    @Test("a failed refetch keeps the cached keys")
    func failedFetchKeepsCache() async {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        await endpoint.setFailing(true)
        clock.advance(by: 31)
        #expect(await !keys.contains(kid: "unknown"))
        #expect(await endpoint.fetches == 2)
        #expect(await keys.contains(kid: first.kid))
    }

    @Test("a fixed key set never fetches and knows only its keys")
    func fixedSet() async throws {
        let keys = try await TrustedKeySet(fixed: JWKSDocument(keys: [first.signingKey.publicJWK]), clock: clock)
        #expect(await keys.contains(kid: first.kid))
        #expect(await !keys.contains(kid: second.kid))
    }

    @Test("an empty fetched set trusts nothing, not even a token signed by a key it once knew")
    func emptySet() async throws {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: []))
        let keys = keySet(endpoint)
        let verifier = HandoffVerifier(issuer: VerifierFixture.issuer, audience: "dashboard", keys: keys, clock: clock)
        let minter = await HandoffMinter(issuer: VerifierFixture.issuer, key: first.signingKey, clock: clock)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        await #expect(throws: BatonError.tokenUnknownKey) { try await verifier.verify(minted.token) }
    }
}

actor FetchCounter {
    private(set) var count = 0
    func increment() { count += 1 }
}

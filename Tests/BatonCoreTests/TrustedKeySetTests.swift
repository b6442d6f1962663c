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

    @Test("the first use fetches; a known kid never fetches again while the set is fresh")
    func knownKidDoesNotFetch() async {
        let endpoint = FakeJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]))
        let keys = keySet(endpoint)
        #expect(await endpoint.fetches == 0)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 1)
        // Without a max-age, the set is kept for the longest bound (300 s).
        for _ in 0..<29 {
            clock.advance(by: 10)
            #expect(await keys.contains(kid: first.kid))
        }
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 10)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 2)
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

/// Serves a JWKS with a `Cache-Control: max-age`, counting fetches.
actor CacheableJWKSEndpoint {
    private(set) var fetches = 0
    var document: JWKSDocument
    var maxAge: TimeInterval?
    var failing = false

    init(_ document: JWKSDocument, maxAge: TimeInterval?) {
        self.document = document
        self.maxAge = maxAge
    }

    func serve() throws -> FetchedJWKS {
        fetches += 1
        if failing { throw StoreError("login host unreachable") }
        return FetchedJWKS(document: document, maxAge: maxAge)
    }

    func publish(_ document: JWKSDocument) { self.document = document }
    func setFailing(_ failing: Bool) { self.failing = failing }
}

/// The relying party caches the JWKS for the login host's max-age (bounded), then
/// refreshes it on the next use; a failed refresh keeps the cached set.
@Suite("TrustedKeySet: JWKS caching")
struct TrustedKeySetCachingTests {
    let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
    let first: TokenForge
    let second: TokenForge

    init() throws {
        first = try TokenForge(seedByte: 0x41)
        second = try TokenForge(seedByte: 0x42)
    }

    /// A verifier trusting `keys`, and a minter signing with the first key.
    private func handoff(through keys: TrustedKeySet) async -> (verifier: HandoffVerifier, minter: HandoffMinter) {
        let verifier = HandoffVerifier(issuer: VerifierFixture.issuer, audience: "dashboard", keys: keys, clock: clock)
        return (verifier, await HandoffMinter(issuer: VerifierFixture.issuer, key: first.signingKey, clock: clock))
    }

    /// What verifying a freshly minted token gives: nil when it verifies.
    private func refusal(_ verifier: HandoffVerifier, _ minter: HandoffMinter) async throws -> BatonError? {
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        do {
            _ = try await verifier.verify(minted.token)
            return nil
        } catch {
            return error
        }
    }

    private func keySet(_ endpoint: CacheableJWKSEndpoint) -> TrustedKeySet {
        TrustedKeySet(fetchingCacheableWith: { try await endpoint.serve() }, clock: clock)
    }

    @Test("no refetch before max-age; the first use after it refreshes and sees a newly published key")
    func honoursMaxAge() async {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 60)
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        await endpoint.publish(JWKSDocument(keys: [first.signingKey.publicJWK, second.signingKey.publicJWK]))
        for _ in 0..<59 {
            clock.advance(by: 1)
            #expect(await keys.contains(kid: first.kid))
        }
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 1)  // 60 s: stale
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 2)
        // The refresh brought the second key without an unknown-kid refetch.
        #expect(await keys.contains(kid: second.kid))
        #expect(await endpoint.fetches == 2)
    }

    @Test("a key published before it signs is known to a relying party that fetched just before, once max-age has passed")
    func publishBeforeSigning() async {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 30)
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))  // fetched at t0
        clock.advance(by: 1)
        await endpoint.publish(JWKSDocument(keys: [first.signingKey.publicJWK, second.signingKey.publicJWK]))  // rotated at t0 + 1
        clock.advance(by: 29)  // the new key signs from t0 + 1 + activation delay (>= 30 + 30): long after max-age
        #expect(await keys.contains(kid: second.kid))
    }

    @Test("a failed refresh keeps the cached set and retries after the shortest cache time, not on every use")
    func failedRefreshKeepsCache() async {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 30)
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        await endpoint.setFailing(true)
        clock.advance(by: 30)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 2)
        for _ in 0..<20 {
            #expect(await keys.contains(kid: first.kid))
        }
        #expect(await endpoint.fetches == 2)
        clock.advance(by: TrustedKeySet.defaultMaxAgeBounds.lowerBound)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 3)
        await endpoint.setFailing(false)
        clock.advance(by: TrustedKeySet.defaultMaxAgeBounds.lowerBound)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 4)
        // Fresh again for the full max-age.
        clock.advance(by: 29)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 4)
    }

    @Test("cached keys are trusted at most jwks_max_stale_seconds after the last good fetch, then token_unknown_key until a fetch succeeds")
    func staleKeysAreDropped() async throws {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 30)
        let keys = TrustedKeySet(fetchingCacheableWith: { try await endpoint.serve() }, clock: clock, maxStale: 600)
        let (verifier, minter) = await handoff(through: keys)
        func verifies() async throws -> BatonError? { try await refusal(verifier, minter) }
        #expect(try await verifies() == nil)  // fetched at t0
        await endpoint.setFailing(true)
        // Every refresh fails from here on; the cached key goes on working up to t0 + 600.
        for _ in 0..<(600 / 25) {
            clock.advance(by: 25)
            #expect(try await verifies() == nil, "\(clock.now())")
        }
        #expect(await endpoint.fetches > 2, "refreshes were tried meanwhile")
        clock.advance(by: 0.5)  // t0 + 600.5: too old
        #expect(try await verifies() == .tokenUnknownKey)
        #expect(await !keys.contains(kid: first.kid))
        // Still failing: still nothing trusted, however long it lasts.
        clock.advance(by: 3600)
        #expect(try await verifies() == .tokenUnknownKey)
        // The login host answers again: the next allowed fetch brings the keys back.
        await endpoint.setFailing(false)
        clock.advance(by: TrustedKeySet.defaultMaxAgeBounds.lowerBound)
        #expect(try await verifies() == nil)
    }

    @Test("signatures are checked from the cached keys only until max-age: a key withdrawn meanwhile is refused at the first use after it")
    func checksHonourMaxAge() async throws {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 60)
        let keys = keySet(endpoint)
        let (verifier, minter) = await handoff(through: keys)
        func verifies() async throws -> BatonError? { try await refusal(verifier, minter) }
        #expect(try await verifies() == nil)
        // Withdrawn (compromised, say): only the second key is published from now on.
        await endpoint.publish(JWKSDocument(keys: [second.signingKey.publicJWK]))
        clock.advance(by: 59)
        #expect(try await verifies() == nil, "still within max-age")
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 1)
        #expect(try await verifies() == .tokenUnknownKey)
        #expect(await endpoint.fetches == 2)
    }

    @Test("a clock that went back before the last fetch does not keep using the cached keys unchecked")
    func checksWithClockGoingBack() async throws {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 60)
        let keys = keySet(endpoint)
        let (verifier, minter) = await handoff(through: keys)
        let minted = try await minter.mint(audience: "dashboard", sid: "sid", state: VerifierFixture.state)
        _ = try await verifier.verify(minted.token)
        #expect(await endpoint.fetches == 1)
        clock.advance(by: -10)
        _ = try? await verifier.verify(minted.token)
        #expect(await endpoint.fetches == 2, "the actor refreshed, as it does for contains(kid:)")
    }

    @Test("a maximum age shorter than the cache time still drops keys once the refresh fails")
    func maxStaleShorterThanMaxAge() async {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 300)
        let keys = TrustedKeySet(fetchingCacheableWith: { try await endpoint.serve() }, clock: clock, maxStale: 60)
        #expect(await keys.contains(kid: first.kid))
        await endpoint.setFailing(true)
        clock.advance(by: 59)
        #expect(await keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 2)
        #expect(await !keys.contains(kid: first.kid))
        #expect(await endpoint.fetches == 2, "a refresh is tried before the keys are dropped")
    }

    @Test("max-age is clamped: 0 or no-store is at least 5 s, a day is at most 300 s")
    func clamped() async {
        let tiny = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 0)
        let tinyKeys = keySet(tiny)
        #expect(await tinyKeys.contains(kid: first.kid))
        clock.advance(by: 4.5)
        #expect(await tinyKeys.contains(kid: first.kid))
        #expect(await tiny.fetches == 1)
        clock.advance(by: 0.5)
        #expect(await tinyKeys.contains(kid: first.kid))
        #expect(await tiny.fetches == 2)

        let huge = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 86400)
        let hugeKeys = keySet(huge)
        #expect(await hugeKeys.contains(kid: first.kid))
        clock.advance(by: 299)
        #expect(await hugeKeys.contains(kid: first.kid))
        #expect(await huge.fetches == 1)
        clock.advance(by: 1)
        #expect(await hugeKeys.contains(kid: first.kid))
        #expect(await huge.fetches == 2)
    }

    @Test("an unknown kid still refetches at most once per 30 s while the cache is fresh")
    func unknownKidStillRateLimited() async {
        let endpoint = CacheableJWKSEndpoint(JWKSDocument(keys: [first.signingKey.publicJWK]), maxAge: 300)
        let keys = keySet(endpoint)
        #expect(await keys.contains(kid: first.kid))
        for index in 0..<50 {
            #expect(await !keys.contains(kid: "forged-\(index)"))
        }
        #expect(await endpoint.fetches == 1)
        clock.advance(by: 30)
        #expect(await !keys.contains(kid: "forged-x"))
        #expect(await endpoint.fetches == 2)
    }

    @Test("concurrent callers after max-age share one refresh")
    func concurrentRefreshIsShared() async {
        let document = JWKSDocument(keys: [first.signingKey.publicJWK])
        let fetches = FetchCounter()
        let keys = TrustedKeySet(
            fetchingCacheableWith: {
                await fetches.increment()
                try await Task.sleep(for: .milliseconds(100))
                return FetchedJWKS(document: document, maxAge: 30)
            }, clock: clock)
        #expect(await keys.contains(kid: first.kid))
        clock.advance(by: 31)
        let kid = first.kid
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask { await keys.contains(kid: kid) }
            }
            for await found in group { #expect(found) }
        }
        #expect(await fetches.count == 2)
    }
}


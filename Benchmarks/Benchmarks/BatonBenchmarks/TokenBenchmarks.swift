import BatonCore
import Benchmark

/// The token's own costs: the strict pre-parse alone, the whole verification a
/// relying party runs (steps 1 and 2 of a redemption), and minting on the login host.
func tokenBenchmarks() -> [Benchmark?] {
    let folder = BenchFixture.temporaryFolder("token")
    let prepare: @Sendable () async throws -> (BenchFixture, String) = {
        let fixture = try await BenchFixture(folder: folder)
        return (fixture, try await fixture.mint(state: "bench-state"))
    }
    let teardown: @Sendable () -> Void = { BenchFixture.removeFolder(folder) }

    return [
        Benchmark("Token: strict parse (CompactJWS) x1000", configuration: .init(scalingFactor: .kilo)) {
            benchmark, prepared in
            for _ in benchmark.scaledIterations {
                blackHole(try CompactJWS(parsing: prepared.1))
            }
        } setup: {
            try await prepare()
        } teardown: {
            teardown()
        },

        Benchmark("Token: verify (strict parse, Ed25519, claims; HandoffVerifier)") { _, prepared in
            let (fixture, token) = prepared
            blackHole(try await fixture.verifier.verify(token))
        } setup: {
            try await prepare()
        } teardown: {
            teardown()
        },

        Benchmark("Token: mint (HandoffMinter, Ed25519)") { _, prepared in
            blackHole(
                try await prepared.0.minter.mint(audience: BenchFixture.clientID, sid: "sid-bench", state: "bench-state"))
        } setup: {
            try await prepare()
        } teardown: {
            teardown()
        },
    ]
}

import BatonCore
import Benchmark

/// A whole redemption in process, as `/sso/callback` runs it without HTTP: verify, the
/// replay check, the state check, the back channel (a fake that answers at once), and
/// the burn and the new session written to SQLite in one transaction.
func redemptionBenchmarks() -> [Benchmark?] {
    let folder = BenchFixture.temporaryFolder("redeem")

    return [
        Benchmark("Redeem: one token (Redeemer, SQLite, fake back channel)") { benchmark, fixture in
            // Each iteration needs its own sign-in and token; making them is not measured.
            let state = try await fixture.startSignIn()
            let token = try await fixture.mint(state: state)
            benchmark.startMeasurement()
            let result = await fixture.redeemer.redeem(
                CallbackRequest(tokens: [token], stateCookie: state, returnCookie: nil, sessionCookie: nil))
            benchmark.stopMeasurement()
            guard case .success(.created) = result.outcome else {
                throw BenchFailure("redemption failed: \(result.outcome)")
            }
        } setup: {
            try await BenchFixture(folder: folder)
        } teardown: {
            BenchFixture.removeFolder(folder)
        }
    ]
}

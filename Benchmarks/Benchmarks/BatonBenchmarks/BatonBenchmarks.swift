import Benchmark

/// Registers every benchmark of the suite and returns them; the plugin's generated
/// `main` calls this.
///
/// Each one reports wall-clock time, CPU time, throughput and what it allocates (count
/// and bytes, through the malloc interposer), so a change that adds an allocation to
/// a hot path shows up here before it shows up under load.
func benchmarks() -> [Benchmark] {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal, .mallocBytesCount, .peakMemoryResident],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )
    return (tokenBenchmarks() + usedTokenStoreBenchmarks() + redemptionBenchmarks()).compactMap { $0 }
}

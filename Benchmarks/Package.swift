// swift-tools-version:6.1
// Micro-benchmarks of Baton's hot paths (ordo-one/benchmark, allocations included).
// A package of its own so that the main package keeps its tools version, and CI never
// builds the benchmark harness. Run: `cd Benchmarks && swift package benchmark`.
import Foundation
import PackageDescription

// A path dependency is named after its folder (`main`, `wt-bench`, a clone's name),
// not after its manifest: read the name off the checkout this file sits in.
let batonPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "BatonBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        // MallocInterposer counts allocations; naming the trait also leaves out the
        // default RuntimeInterposer, whose package is not in the mirror.
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "BatonBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BatonCore", package: batonPackage),
                .product(name: "BatonSQLite", package: batonPackage),
            ],
            path: "Benchmarks/BatonBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)

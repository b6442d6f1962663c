// swift-tools-version:6.0
// libFuzzer harnesses for Baton's parsers and its token verifier (Fuzz/README.md).
// A package of its own, so that neither `swift build` nor `swift test` of the main
// package builds them; Scripts/fuzz builds them with `swift build --sanitize=fuzzer`,
// which instruments Baton's own modules (and their dependencies) for coverage.
import Foundation
import PackageDescription

// A path dependency is named after its folder (`main`, `wt-fuzz`, a clone's name),
// not after its manifest: read the name off the checkout this file sits in.
let batonPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

func baton(_ product: String) -> Target.Dependency {
    .product(name: product, package: batonPackage)
}

let package = Package(
    name: "BatonFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        .target(
            name: "FuzzSupport", dependencies: [baton("BatonCore"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "TokenFuzzer", dependencies: ["FuzzSupport", baton("BatonCore")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "ClaimsFuzzer", dependencies: ["FuzzSupport", baton("BatonCore")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "JSONFuzzer", dependencies: ["FuzzSupport", baton("BatonCore")], swiftSettings: swiftSettings),
        .executableTarget(
            name: "WebFuzzer",
            dependencies: [
                "FuzzSupport", baton("BatonCore"), baton("BatonWeb"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "ConfigFuzzer",
            dependencies: ["FuzzSupport", baton("BatonCore"), baton("BatonServer"), baton("BatonLogin"), baton("BatonDashboard")],
            swiftSettings: swiftSettings),
    ]
)

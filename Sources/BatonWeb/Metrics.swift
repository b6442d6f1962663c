import Foundation
import Hummingbird
import Prometheus
import Synchronization

/// A metric's name and what it measures, declared once beside the code that records it:
/// the registry insists that every series of one name carries the same help text.
public struct MetricName: Sendable, Hashable {
    /// `baton_redemptions`: the name before its unit.
    public let base: String
    /// `total` for a counter, `seconds`, `bytes`, or empty.
    public let unit: String
    public let help: String

    /// A metric named `base_unit` (just `base` when `unit` is empty).
    public init(_ base: String, unit: String, help: String) {
        self.base = base
        self.unit = unit
        self.help = help
    }

    /// What the exposition calls it: `baton_redemptions_total`.
    public var exposed: String { unit.isEmpty ? base : base + "_" + unit }

    var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: base, unitName: unit, helpText: help) }
}

/// A host's Prometheus metrics, served at `/metrics` to whoever presents the host's
/// `metrics_token` (``MetricsEndpoint``). Labels are fixed words, `Baton-Error` codes
/// and client ids from configuration — never a token, cookie, username, sid, path or
/// anything else a client sent.
///
/// What a request records often is resolved to a handle once (``counter(_:_:)``,
/// ``histogram(_:_:)``) and kept by its host, so that counting is one relaxed atomic add
/// and a latency two, with no lock and nothing allocated per request.
public struct HostMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let counters = Counters()
    private let histograms = LatencyHistograms()
    private let refreshers = Refreshers()

    /// Latency buckets, in seconds: from half a millisecond (a cached read) to 5 s (the
    /// longest a request may wait on the store before it is refused).
    public static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5),
    ]

    /// A registry with the process's resident memory and open file descriptors, read
    /// again at each scrape.
    public init() {
        let memory = registry.makeGauge(descriptor: ProcessStatistics.residentMemory.descriptor)
        let files = registry.makeGauge(descriptor: ProcessStatistics.openFileDescriptors.descriptor)
        onScrape {
            if let bytes = ProcessStatistics.residentBytes() { memory.set(to: Double(bytes)) }
            if let count = ProcessStatistics.openFileDescriptorCount() { files.set(to: Double(count)) }
        }
    }

    /// The counter `name` with `labels`: keep the handle where it is counted often.
    public func counter(_ name: MetricName, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: name.descriptor, labels: labels)
    }

    /// The gauge `name` with `labels`.
    public func gauge(_ name: MetricName, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: name.descriptor, labels: labels)
    }

    /// The latency histogram `name` (in seconds, ``latencyBuckets``) with `labels`.
    public func histogram(_ name: MetricName, _ labels: [(String, String)] = []) -> LatencyHistogram {
        histograms.make(name, labels: labels, bounds: Self.latencyBuckets)
    }

    /// Counts one event where a handle is not worth keeping (a rare path): the series is
    /// looked up by name and labels each time.
    public func count(_ name: MetricName, _ labels: [(String, String)] = []) {
        counters.counter(name, labels, in: registry).increment()
    }

    /// Runs `refresh` before each scrape: gauges read from the process or the store.
    public func onScrape(_ refresh: @escaping @Sendable () async -> Void) {
        refreshers.add(refresh)
    }

    /// The Prometheus text exposition, every gauge refreshed first.
    public func exposition() async -> [UInt8] {
        for refresh in refreshers.all { await refresh() }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        histograms.emit(into: &bytes)
        return bytes
    }
}

/// Each rarely counted series made once, by name and labels.
final class Counters: Sendable {
    private let made = Mutex<[String: Counter]>([:])

    func counter(_ name: MetricName, _ labels: [(String, String)], in registry: PrometheusCollectorRegistry) -> Counter {
        let key = labels.reduce(name.exposed) { $0 + "\u{0}" + $1.0 + "=" + $1.1 }
        if let counter = made.withLock({ $0[key] }) { return counter }
        let counter = registry.makeCounter(descriptor: name.descriptor, labels: labels)
        made.withLock { $0[key] = counter }
        return counter
    }
}

/// What a scrape refreshes first.
final class Refreshers: Sendable {
    private let list = Mutex<[@Sendable () async -> Void]>([])

    func add(_ refresh: @escaping @Sendable () async -> Void) { list.withLock { $0.append(refresh) } }
    var all: [@Sendable () async -> Void] { list.withLock { $0 } }
}

/// A latency measured from here to ``record(in:)``.
public struct Stopwatch: Sendable {
    let start = ContinuousClock.now

    /// Starts now.
    public init() {}

    /// Records the time since start in `histogram`.
    @inline(__always)
    public func record(in histogram: LatencyHistogram) {
        histogram.record(ContinuousClock.now - start)
    }
}

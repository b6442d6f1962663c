import Synchronization

/// A latency histogram in seconds whose ``record(_:)`` costs two relaxed atomic adds and
/// no lock: each observation lands in the one bucket it falls in, and the cumulative
/// counts Prometheus wants are summed at scrape time. (swift-prometheus's histogram takes
/// a lock per observation, which every request would contend for.)
public final class LatencyHistogram: Sendable {
    /// Upper bounds in nanoseconds, ascending.
    private let bounds: [Int64]
    /// One counter per bound, and a last one for `+Inf`.
    private let buckets: [Cell]
    private let sumNanoseconds = Atomic<Int64>(0)
    /// `name{labels,` ready for each bucket line, and the `le` values.
    private let prefix: [UInt8]
    private let labels: [UInt8]
    private let bucketLabels: [[UInt8]]

    final class Cell: Sendable {
        let count = Atomic<Int64>(0)
    }

    init(exposedName: String, labels: [(String, String)], bounds: [Duration]) {
        self.bounds = bounds.map(Self.nanoseconds)
        self.buckets = (0...bounds.count).map { _ in Cell() }
        self.prefix = Array(exposedName.utf8)
        self.labels = Array(labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",").utf8)
        self.bucketLabels = bounds.map { Array(Self.seconds($0).utf8) } + [Array("+Inf".utf8)]
    }

    /// Counts one observation of `duration`.
    @inline(__always)
    public func record(_ duration: Duration) {
        let nanoseconds = max(0, Self.nanoseconds(duration))
        var index = 0
        while index < bounds.count, nanoseconds > bounds[index] { index += 1 }
        buckets[index].count.wrappingAdd(1, ordering: .relaxed)
        sumNanoseconds.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of this series.
    func emit(into out: inout [UInt8]) {
        var cumulative: Int64 = 0
        for (index, bucket) in buckets.enumerated() {
            cumulative += bucket.count.load(ordering: .relaxed)
            out.append(contentsOf: prefix)
            out.append(contentsOf: "_bucket{".utf8)
            if !labels.isEmpty {
                out.append(contentsOf: labels)
                out.append(UInt8(ascii: ","))
            }
            out.append(contentsOf: #"le=""#.utf8)
            out.append(contentsOf: bucketLabels[index])
            out.append(contentsOf: "\"} \(cumulative)\n".utf8)
        }
        let sum = Double(sumNanoseconds.load(ordering: .relaxed)) / 1e9
        for (suffix, value) in [("_sum", "\(sum)"), ("_count", "\(cumulative)")] {
            out.append(contentsOf: prefix)
            out.append(contentsOf: suffix.utf8)
            if !labels.isEmpty {
                out.append(UInt8(ascii: "{"))
                out.append(contentsOf: labels)
                out.append(UInt8(ascii: "}"))
            }
            out.append(contentsOf: " \(value)\n".utf8)
        }
    }

    @inline(__always)
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }

    /// `0.0005`, `1.0`: a bound in seconds as the `le` label writes it.
    static func seconds(_ duration: Duration) -> String {
        "\(Double(nanoseconds(duration)) / 1e9)"
    }
}

/// Every latency histogram of one host, by metric name: what the exposition adds after
/// swift-prometheus's counters and gauges.
final class LatencyHistograms: Sendable {
    private let families = Mutex<[(name: MetricName, series: [LatencyHistogram])]>([])

    func make(_ name: MetricName, labels: [(String, String)], bounds: [Duration]) -> LatencyHistogram {
        let histogram = LatencyHistogram(exposedName: name.exposed, labels: labels, bounds: bounds)
        families.withLock { families in
            if let index = families.firstIndex(where: { $0.name.exposed == name.exposed }) {
                families[index].series.append(histogram)
            } else {
                families.append((name, [histogram]))
            }
        }
        return histogram
    }

    /// `# HELP`, `# TYPE … histogram` and every series, family by family.
    func emit(into out: inout [UInt8]) {
        for family in families.withLock({ $0 }) {
            out.append(contentsOf: "# HELP \(family.name.exposed) \(family.name.help)\n".utf8)
            out.append(contentsOf: "# TYPE \(family.name.exposed) histogram\n".utf8)
            for series in family.series { series.emit(into: &out) }
        }
    }
}

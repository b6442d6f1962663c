import Foundation
import Hummingbird
import Prometheus
import Synchronization

/// A host's Prometheus counters, served at `/metrics`. Labels are fixed words and
/// `Baton-Error` codes, never a token, cookie or user-supplied value.
public struct HostMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let counters = Counters()

    /// An empty registry.
    public init() {}

    /// Counts one event: the counter is exposed as `NAME_total`.
    public func count(_ name: String, _ labels: [(String, String)] = []) {
        counters.counter(name, labels, in: registry).increment()
    }

    /// The Prometheus text exposition.
    public func response() -> Response {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Each counter made once: a hot path counts without building a descriptor per request.
final class Counters: Sendable {
    private let made = Mutex<[String: Counter]>([:])

    func counter(_ name: String, _ labels: [(String, String)], in registry: PrometheusCollectorRegistry) -> Counter {
        let key = labels.reduce(name) { $0 + "\u{0}" + $1.0 + "=" + $1.1 }
        if let counter = made.withLock({ $0[key] }) { return counter }
        let descriptor = MetricNameDescriptor(
            metricName: name, unitName: "total", helpText: name.replacingOccurrences(of: "_", with: " "))
        let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
        made.withLock { $0[key] = counter }
        return counter
    }
}

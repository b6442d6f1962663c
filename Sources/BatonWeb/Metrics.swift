import Foundation
import Hummingbird
import Prometheus

/// A host's Prometheus counters, served at `/metrics`. Labels are fixed words and
/// `Baton-Error` codes, never a token, cookie or user-supplied value.
public struct HostMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// An empty registry.
    public init() {}

    /// Counts one event: the counter is exposed as `NAME_total`.
    public func count(_ name: String, _ labels: [(String, String)] = []) {
        let descriptor = MetricNameDescriptor(
            metricName: name, unitName: "total", helpText: name.replacingOccurrences(of: "_", with: " "))
        registry.makeCounter(descriptor: descriptor, labels: labels).increment()
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

import BatonCore
import Foundation

/// The hops of one handoff as rows for the dashboard's timeline picture: start →
/// login → token minted → redeemed, each with its milliseconds and a bar drawn to a
/// log scale (a person typing a password takes seconds; a redemption, milliseconds).
struct TimelineView {
    struct Hop {
        let label: String
        let detail: String
        let milliseconds: Double
        let approximate: Bool
    }

    let hops: [Hop]
    let timeline: HandoffTimeline

    init(_ timeline: HandoffTimeline) {
        self.timeline = timeline
        let mintedAtMs = max(Double(timeline.iat) * 1000, Double(timeline.startedAtMs))
        let login = max(0, mintedAtMs - Double(timeline.startedAtMs))
        let delivery = max(0, Double(timeline.callbackAtMs) - mintedAtMs)
        let redeem = max(0, Double(timeline.finishedAtMs - timeline.callbackAtMs))
        hops = [
            Hop(label: "Start", detail: "/sso/start set a state cookie and sent the browser to the login host", milliseconds: 0, approximate: false),
            Hop(label: "Login", detail: "the login host checked its session (signing in if needed)", milliseconds: login, approximate: true),
            Hop(
                label: "Token minted",
                detail: "jti \(timeline.jtiPrefix)…, lifetime \(timeline.exp - timeline.iat) s, carried back by a 302",
                milliseconds: delivery, approximate: true),
            Hop(
                label: "Redeemed",
                detail: String(
                    format: "verified %.1f ms, back channel %.1f ms, then the jti burned and this session created in one commit",
                    timeline.verifyMs, timeline.backChannelMs),
                milliseconds: redeem, approximate: false),
        ]
    }

    var context: [String: Any] {
        let longest = max(hops.map(\.milliseconds).max() ?? 1, 1)
        let rows: [[String: Any]] = hops.map { hop in
            // log scale, at least a sliver so every hop is visible
            let fraction = log10(1 + hop.milliseconds) / log10(1 + longest)
            let width = max(2, Int((fraction * 100).rounded()))
            return [
                "label": hop.label, "detail": hop.detail,
                "ms": (hop.approximate ? "≈ " : "") + String(format: "%.1f ms", hop.milliseconds),
                "width": "\(width)",
            ]
        }
        let total = Double(timeline.finishedAtMs - timeline.startedAtMs)
        return ["hops": rows, "total_ms": String(format: "%.0f ms", max(0, total))]
    }
}

import Foundation

extension Date {
    /// "2026-11-28 10:15 UTC": how pages show a time.
    public var pageText: String {
        var style = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateSeparator(.dash)
        style = style.time(includingFractionalSeconds: false).timeSeparator(.colon)
        let iso = self.formatted(style)  // 2026-11-28T10:15:01Z
        return iso.replacingOccurrences(of: "T", with: " ").dropLast(4) + " UTC"
    }
}

import Foundation

extension Date {
    /// "2026-11-28 10:05 UTC": how pages show a time, to the minute (seconds are cut,
    /// never rounded up to a minute that has not come yet).
    public var pageText: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: self)
        func padded(_ value: Int?, _ width: Int) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let date = [padded(parts.year, 4), padded(parts.month, 2), padded(parts.day, 2)].joined(separator: "-")
        return date + " " + padded(parts.hour, 2) + ":" + padded(parts.minute, 2) + " UTC"
    }
}

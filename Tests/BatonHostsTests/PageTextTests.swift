import BatonWeb
import Foundation
import Testing

/// How pages show a time: `YYYY-MM-DD HH:MM UTC`, every field zero-padded, seconds cut.
@Suite("Date.pageText")
struct PageTextTests {
    private static func date(_ text: String) throws -> Date {
        try #require(try? Date(text, strategy: .iso8601))
    }

    @Test(
        "times render as YYYY-MM-DD HH:MM UTC, padded, seconds cut",
        arguments: [
            ("2026-12-01T08:00:00Z", "2026-12-01 08:00 UTC"),
            ("2026-12-01T08:00:59Z", "2026-12-01 08:00 UTC"),
            ("2026-12-01T08:05:00Z", "2026-12-01 08:05 UTC"),
            ("2026-12-01T08:05:59Z", "2026-12-01 08:05 UTC"),
            ("2026-12-01T08:59:00Z", "2026-12-01 08:59 UTC"),
            ("2026-12-01T23:59:59Z", "2026-12-01 23:59 UTC"),
            ("2026-01-09T00:00:00Z", "2026-01-09 00:00 UTC"),
            ("2026-11-28T10:15:01Z", "2026-11-28 10:15 UTC"),
            ("2027-02-03T04:06:07+02:00", "2027-02-03 02:06 UTC"),
        ])
    func format(input: String, expected: String) throws {
        #expect(try Self.date(input).pageText == expected)
    }

    @Test("a fraction of a second never rounds up to the next minute")
    func fractionIsCut() throws {
        #expect(try Self.date("2026-12-01T08:59:59Z").addingTimeInterval(0.999).pageText == "2026-12-01 08:59 UTC")
    }
}

import Foundation

@testable import BatonSQLite

/// Runs `body` with a fresh, empty directory and removes it afterwards, whatever
/// happens. Stores opened in `body` must not outlive it.
func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("baton-sqlite-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try await body(directory)
}

/// Runs `body` with a new SQLiteStore in a fresh temporary directory.
func withTemporaryStore(_ body: (SQLiteStore) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let store = try SQLiteStore(path: directory.appendingPathComponent("baton.sqlite").path)
        try await body(store)
    }
}

/// A whole-second date, so records round-trip through REAL columns exactly.
func at(_ seconds: Int) -> Date { Date(timeIntervalSince1970: TimeInterval(1_750_000_000 + seconds)) }

import AsyncHTTPClient
import BatonCore
import BatonLogin
import BatonSQLite
import BatonTestSupport
import Foundation
import Logging
import Testing

/// The dispatcher against a real SQLite queue and a relying party that is not there.
@Suite("LogoutDispatcher: retries and giving up")
struct LogoutDispatcherTests {
    static func withDispatcher(
        _ body: (LogoutDispatcher, SQLiteStore, ManualClock) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-dispatch-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(path: directory + "/login.sqlite")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_750_000_000))
        // A port nobody listens on: every delivery fails to connect.
        let deadPort = try freePort()
        let clients = ClientRegistry([
            .init(clientID: "dashboard", redirectURIs: ["http://d/cb"], secretHash: "x", backChannelLogoutURI: "http://127.0.0.1:\(deadPort)/sso/backchannel-logout"),
            .init(clientID: "silent", redirectURIs: ["http://s/cb"], secretHash: "y"),
        ])
        // Refused connections are retried by the client until its connect timeout: keep it short.
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .milliseconds(100), read: .seconds(1))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let dispatcher = LogoutDispatcher(
            store: store, clients: clients, mint: { _, _ in "a.b.c" }, http: http, clock: clock, logger: logger, maximumBackoff: 300)
        do {
            try await body(dispatcher, store, clock)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    static func queue(_ store: SQLiteStore, clock: ManualClock, clients: [String], lifetime: TimeInterval = 3600) async throws {
        try await store.insertUser(User(id: "u", username: "alice", displayName: "Alice", passwordHash: "h", createdAt: clock.now()))
        try await store.insertLoginSession(
            LoginSession(
                sid: "sid-1", secretHash: "s", userID: "u", authTime: clock.now(), lastSeen: clock.now(),
                expiresAt: clock.now().addingTimeInterval(lifetime), userAgent: "test"))
        for client in clients { try await store.recordHandoff(sid: "sid-1", clientID: client, at: clock.now()) }
        #expect(try await store.endLoginSession(sid: "sid-1", queueLogoutAt: clock.now()) == clients.sorted())
    }

    @Test("a failed delivery is kept and retried after a growing, capped, jittered delay")
    func retriesWithBackoff() async throws {
        try await Self.withDispatcher { dispatcher, store, clock in
            try await Self.queue(store, clock: clock, clients: ["dashboard"])
            var previous = clock.now()
            for attempt in 1...12 {
                #expect(await dispatcher.deliverDue() == 0)
                let pending = try #require(try await store.pendingLogoutDeliveries().first)
                #expect(pending.attempts == attempt)
                let delay = pending.nextAttemptAt.timeIntervalSince(previous)
                let ceiling = min(300, pow(2, Double(attempt - 1)))
                #expect(delay >= ceiling * 0.5 - 0.001 && delay <= ceiling + 0.001, "attempt \(attempt): \(delay) s")
                // Not due yet: nothing is attempted.
                #expect(await dispatcher.deliverDue() == 0)
                #expect(try await store.pendingLogoutDeliveries().first?.attempts == attempt)
                clock.advance(by: delay)
                previous = clock.now()
            }
        }
    }

    @Test("a delivery is given up once the login session's expiry has passed, and a client without a logout URI gets none")
    func givesUp() async throws {
        try await Self.withDispatcher { dispatcher, store, clock in
            try await Self.queue(store, clock: clock, clients: ["dashboard", "silent"], lifetime: 10)
            await dispatcher.deliverDue()
            #expect(try await store.pendingLogoutDeliveries().map(\.clientID) == ["dashboard"])
            clock.advance(by: 11)
            await dispatcher.deliverDue()
            #expect(try await store.pendingLogoutDeliveries().isEmpty)
        }
    }
}

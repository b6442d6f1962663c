import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

@Suite("SQLiteStore: users")
struct UserStoreTests {

    @Test("a bcrypt hash made by PasswordHasher is stored and read back intact")
    func storesBcryptHash() async throws {
        try await withTemporaryStore { store in
            let hasher = PasswordHasher(cost: 4)
            let hash = await hasher.hash("wonderland")
            var alice = Records.user("user-1", "alice")
            alice.passwordHash = hash
            try await store.insertUser(alice)
            let stored = try #require(try await store.user(username: "alice"))
            #expect(stored.passwordHash == hash)
            #expect(!stored.passwordHash.contains("wonderland"))
            #expect(try await hasher.verify("wonderland", hash: stored.passwordHash))
            #expect(try await !hasher.verify("Wonderland", hash: stored.passwordHash))
        }
    }
}

import Foundation
import Testing

@testable import BatonCore
@testable import BatonSQLite

@Suite("SQLiteStore: users")
struct UserStoreTests {
    @Test("a user is found by username and by id, and nothing else is")
    func insertAndFind() async throws {
        try await withTemporaryStore { store in
            let alice = Records.user("user-1", "alice")
            try await store.insertUser(alice)
            #expect(try await store.user(username: "alice") == alice)
            #expect(try await store.user(id: "user-1") == alice)
            #expect(try await store.user(username: "bob") == nil)
            #expect(try await store.user(id: "user-2") == nil)
            #expect(try await store.user(username: "alice' OR '1'='1") == nil)
            #expect(try await store.user(username: "alic%") == nil)
            #expect(try await store.user(id: "alice") == nil)
        }
    }

    @Test("a taken username cannot be inserted again, even under another id")
    func duplicateUsername() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            await #expect(throws: StoreError.self) { try await store.insertUser(Records.user("user-2", "alice")) }
            await #expect(throws: StoreError.self) { try await store.insertUser(Records.user("user-1", "bob")) }
            #expect(try await store.user(username: "alice")?.id == "user-1")
            #expect(try await store.user(username: "bob") == nil)
        }
    }

    @Test("the password hash of an existing user can be replaced; an unknown user reports false")
    func updatePasswordHash() async throws {
        try await withTemporaryStore { store in
            try await store.insertUser(Records.user("user-1", "alice"))
            #expect(try await store.updatePasswordHash(username: "alice", passwordHash: "$2b$04$new") == true)
            #expect(try await store.user(username: "alice")?.passwordHash == "$2b$04$new")
            #expect(try await store.updatePasswordHash(username: "nobody", passwordHash: "$2b$04$x") == false)
        }
    }

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

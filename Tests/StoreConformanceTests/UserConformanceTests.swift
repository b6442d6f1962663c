import BatonCore
import Foundation
import Testing

@Suite("Conformance: users")
struct UserConformanceTests {
    @Test("a user is found by username and by id, and nothing else is", arguments: Engine.underTest)
    func insertAndFind(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            var alice = Records.user("user-1", "alice")
            alice.email = "alice@example.com"
            alice.groups = ["staff", "ops"]
            alice.createdAt = at(0).addingTimeInterval(0.125)
            try await store.insertUser(alice)
            #expect(try await store.user(username: "alice") == alice)
            #expect(try await store.user(id: "user-1") == alice)
            #expect(try await store.user(username: "bob") == nil)
            #expect(try await store.user(username: "alice' OR '1'='1") == nil)
            #expect(try await store.user(username: "alic%") == nil)
            #expect(try await store.user(id: "alice") == nil)
        }
    }

    @Test("a taken username or id cannot be inserted again", arguments: Engine.underTest)
    func duplicates(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await store.insertUser(Records.user("user-1", "alice"))
            await #expect(throws: StoreError.self) { try await store.insertUser(Records.user("user-2", "alice")) }
            await #expect(throws: StoreError.self) { try await store.insertUser(Records.user("user-1", "bob")) }
            #expect(try await store.user(username: "alice")?.id == "user-1")
            #expect(try await store.user(username: "bob") == nil)
        }
    }

    @Test("users are listed by username, by code point whatever the database's locale", arguments: Engine.underTest)
    func list(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            for (index, name) in ["alice", "_bob", "Zed", "carol"].enumerated() {
                try await store.insertUser(Records.user("user-\(index)", name))
            }
            #expect(try await store.users().map(\.username) == ["Zed", "_bob", "alice", "carol"])
        }
    }

    @Test("a password hash is replaced; fields are updated only where given", arguments: Engine.underTest)
    func updates(_ engine: Engine) async throws {
        try await withStore(engine) { store, _ async throws in
            try await store.insertUser(Records.user("user-1", "alice"))
            #expect(try await store.updatePasswordHash(username: "alice", passwordHash: "$2b$04$new") == true)
            #expect(try await store.user(username: "alice")?.passwordHash == "$2b$04$new")
            #expect(try await store.updatePasswordHash(username: "nobody", passwordHash: "$2b$04$x") == false)

            #expect(try await store.updateUser(username: "alice", displayName: nil, email: "a@example.com", groups: ["staff"]) == true)
            var user = try #require(try await store.user(username: "alice"))
            #expect(user.displayName == "Display alice" && user.email == "a@example.com" && user.groups == ["staff"])
            #expect(try await store.updateUser(username: "alice", displayName: "Alice", email: nil, groups: []) == true)
            user = try #require(try await store.user(username: "alice"))
            #expect(user.displayName == "Alice" && user.email == "a@example.com" && user.groups == [])
            #expect(try await store.updateUser(username: "nobody", displayName: "X", email: nil, groups: nil) == false)
        }
    }
}

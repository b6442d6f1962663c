import BatonCore
import Foundation
import PostgresNIO

extension PostgresStore: UserStore {
    public func insertUser(_ user: User) async throws {
        try await execute(
            """
            INSERT INTO users (id, username, display_name, email, groups, password_hash, created_at)
            VALUES (\(user.id), \(user.username), \(user.displayName), \(user.email), \(GroupName.joined(user.groups)),
                \(user.passwordHash), \(user.createdAt.timeIntervalSince1970))
            """, "insert a user")
    }

    public func user(username: String) async throws -> User? {
        try await rows("SELECT \(unescaped: User.columns) FROM users WHERE username = \(username)", "read a user", as: User.init(row:)).first
    }

    public func user(id: String) async throws -> User? {
        try await rows("SELECT \(unescaped: User.columns) FROM users WHERE id = \(id)", "read a user", as: User.init(row:)).first
    }

    public func users() async throws -> [User] {
        // COLLATE "C": by code point, as SQLite orders, whatever the database's locale.
        try await rows("SELECT \(unescaped: User.columns) FROM users ORDER BY username COLLATE \"C\"", "list users", as: User.init(row:))
    }

    public func updatePasswordHash(username: String, passwordHash: String) async throws -> Bool {
        try await execute(
            "UPDATE users SET password_hash = \(passwordHash) WHERE username = \(username) RETURNING 1", "update a password hash") == 1
    }

    public func updateUser(username: String, displayName: String?, email: String?, groups: [String]?) async throws -> Bool {
        // COALESCE keeps a column whose new value is NULL (not given).
        try await execute(
            """
            UPDATE users SET display_name = COALESCE(\(displayName), display_name), email = COALESCE(\(email), email),
                groups = COALESCE(\(groups.map(GroupName.joined)), groups)
            WHERE username = \(username) RETURNING 1
            """, "update a user") == 1
    }
}

extension User {
    static let columns = "id, username, display_name, email, groups, password_hash, created_at"

    init(row: PostgresRow) throws {
        let (id, username, displayName, email, groups, passwordHash, createdAt) = try row.decode(
            (String, String, String, String, String, String, Double).self)
        self.init(
            id: id, username: username, displayName: displayName, email: email, groups: GroupName.split(groups),
            passwordHash: passwordHash, createdAt: Date(timeIntervalSince1970: createdAt))
    }
}

import BatonCore
import Foundation
import GRDB

extension SQLiteStore: UserStore {
    public func insertUser(_ user: User) async throws {
        try await write { db in
            try db.cachedStatement(sql: """
                    INSERT INTO users (id, username, display_name, email, groups, password_hash, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                    user.id, user.username, user.displayName, user.email, GroupName.joined(user.groups), user.passwordHash,
                    user.createdAt.sqliteSeconds,
                ])
        }
    }

    public func user(username: String) async throws -> User? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE username = ?"), arguments: [username]).map(User.init(row:))
        }
    }

    public func user(id: String) async throws -> User? {
        try read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(User.init(row:))
        }
    }

    public func users() async throws -> [User] {
        try await scan { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY username").map(User.init(row:))
        }
    }

    public func updatePasswordHash(username: String, passwordHash: String) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(sql: "UPDATE users SET password_hash = ? WHERE username = ?").execute(arguments: [passwordHash, username])
            return db.changesCount == 1
        }
    }

    public func updateUser(username: String, displayName: String?, email: String?, groups: [String]?) async throws -> Bool {
        try await write { db in
            // COALESCE keeps a column whose new value is NULL (not given).
            try db.cachedStatement(sql: """
                    UPDATE users SET display_name = COALESCE(?, display_name), email = COALESCE(?, email),
                        groups = COALESCE(?, groups)
                    WHERE username = ?
                    """).execute(arguments: [displayName, email, groups.map(GroupName.joined), username])
            return db.changesCount == 1
        }
    }
}

extension User {
    init(row: Row) {
        self.init(
            id: row["id"], username: row["username"], displayName: row["display_name"], email: row["email"],
            groups: GroupName.split(row["groups"]), passwordHash: row["password_hash"],
            createdAt: Date(sqliteSeconds: row["created_at"]))
    }
}

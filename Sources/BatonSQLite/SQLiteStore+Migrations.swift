import GRDB

extension SQLiteStore {
    /// The schema, one named step at a time. Steps are never edited once released:
    /// a change is a new step.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: users, sessions, used tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id TEXT PRIMARY KEY NOT NULL,
                        username TEXT NOT NULL UNIQUE,
                        display_name TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at REAL NOT NULL
                    );
                    CREATE TABLE login_sessions (
                        sid TEXT PRIMARY KEY NOT NULL,
                        secret_hash TEXT NOT NULL UNIQUE,
                        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        auth_time REAL NOT NULL,
                        last_seen REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        user_agent TEXT NOT NULL
                    );
                    CREATE INDEX login_sessions_user ON login_sessions(user_id);
                    CREATE TABLE session_lookups (
                        sid TEXT NOT NULL REFERENCES login_sessions(sid) ON DELETE CASCADE,
                        client_id TEXT NOT NULL,
                        looked_up_at REAL NOT NULL,
                        PRIMARY KEY (sid, client_id)
                    ) WITHOUT ROWID;
                    CREATE TABLE used_tokens (
                        issuer TEXT NOT NULL,
                        jti TEXT NOT NULL,
                        until REAL NOT NULL,
                        PRIMARY KEY (issuer, jti)
                    ) WITHOUT ROWID;
                    CREATE INDEX used_tokens_until ON used_tokens(until);
                    CREATE TABLE pending_sign_ins (
                        state_hash TEXT PRIMARY KEY NOT NULL,
                        client_id TEXT NOT NULL,
                        return_to TEXT NOT NULL,
                        started_at REAL NOT NULL,
                        expires_at REAL NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE rp_sessions (
                        id_hash TEXT PRIMARY KEY NOT NULL,
                        client_id TEXT NOT NULL,
                        login_sid TEXT NOT NULL,
                        created_by_jti TEXT NOT NULL,
                        return_to TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        username TEXT NOT NULL,
                        display_name TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        timeline TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX rp_sessions_login ON rp_sessions(client_id, login_sid);
                    """)
        }
        migrator.registerMigration("v2: back-channel logout queue, RP idle and revalidation times") { db in
            try db.execute(
                sql: """
                    CREATE TABLE logout_deliveries (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        sid TEXT NOT NULL,
                        client_id TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        next_attempt_at REAL NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        deadline REAL NOT NULL,
                        last_error TEXT,
                        UNIQUE (sid, client_id)
                    );
                    CREATE INDEX logout_deliveries_due ON logout_deliveries(next_attempt_at);
                    ALTER TABLE rp_sessions ADD COLUMN last_seen REAL NOT NULL DEFAULT 0;
                    ALTER TABLE rp_sessions ADD COLUMN last_validated REAL NOT NULL DEFAULT 0;
                    UPDATE rp_sessions SET last_seen = created_at, last_validated = created_at;
                    """)
        }
        migrator.registerMigration("v3: users' email and groups, kept with RP sessions") { db in
            // Groups are written comma-separated: a valid group name never holds a comma.
            try db.execute(
                sql: """
                    ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';
                    ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '';
                    ALTER TABLE rp_sessions ADD COLUMN email TEXT NOT NULL DEFAULT '';
                    ALTER TABLE rp_sessions ADD COLUMN groups TEXT NOT NULL DEFAULT '';
                    """)
        }
        migrator.registerMigration("v4: sign-ins in flight travel in a MAC'd state, not in the store") { db in
            try db.execute(sql: "DROP TABLE pending_sign_ins")
        }
        migrator.registerMigration("v5: indexes for the per-person session caps and idle pruning") { db in
            try db.execute(
                sql: """
                    CREATE INDEX rp_sessions_subject ON rp_sessions(client_id, subject, created_at);
                    CREATE INDEX rp_sessions_last_seen ON rp_sessions(client_id, last_seen);
                    """)
        }
        migrator.registerMigration("v6: the login host's key ring, when signing_keys is database") { db in
            // One row: the ring as SigningKeyRing.encoded() writes it.
            try db.execute(sql: "CREATE TABLE key_ring (id INTEGER PRIMARY KEY CHECK (id = 1), ring BLOB NOT NULL)")
        }
        return migrator
    }
}

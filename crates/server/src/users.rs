//! Console users, sessions and API tokens in `data_dir/users.db`, owned by this crate.
//!
//! * passwords are Argon2id PHC strings; a wrong name and a wrong password fail alike;
//! * session and API tokens are 256 random bits shown to their owner once; the database keeps
//!   only their SHA-256, so a copy of `users.db` logs nobody in;
//! * each session carries its own CSRF token (256 random bits) for the console's forms;
//! * migrations are numbered and tracked by `PRAGMA user_version`, like the store's.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use argon2::{Argon2, Params, PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long a console session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Shortest password accepted by [`UserDb::add_user`] and [`UserDb::set_password`].
pub const MIN_PASSWORD_CHARS: usize = 10;

const MIGRATIONS: &[&str] = &["
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
"];

/// Errors of the user database.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// SQLite refused or failed.
    #[error("users database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Hashing failed (never says anything about the password).
    #[error("password hashing failed")]
    Hash,
    /// No such user.
    #[error("no user named `{0}`")]
    NoSuchUser(String),
    /// The name is taken.
    #[error("a user named `{0}` already exists")]
    Exists(String),
    /// The input is not acceptable (short password, bad name, unknown role).
    #[error("{0}")]
    Invalid(String),
    /// The file was written by a newer build.
    #[error("users database schema version {0} is newer than this build's")]
    TooNew(i64),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, UserError>;

/// What a user may do. Ordered: each role can do everything the previous one can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything the console shows.
    Viewer,
    /// Also acknowledges incidents.
    Analyst,
    /// Also manages users (from the command line for now).
    Admin,
}

impl Role {
    /// The id stored and accepted on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// The Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Role::Viewer => "只读",
            Role::Analyst => "分析员",
            Role::Admin => "管理员",
        }
    }

    /// Parse the id.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user as the console sees it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its user.
    pub user: User,
    /// The per-session CSRF token every form must echo.
    pub csrf: String,
}

/// The users database. One connection behind a mutex: call it from blocking threads.
pub struct UserDb {
    conn: Mutex<Connection>,
    argon: Argon2<'static>,
}

/// 256 random bits, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
}

impl UserDb {
    /// Open (creating if needed) the database at `path` with Argon2id's default cost.
    pub fn open(path: &Path) -> Result<UserDb> {
        UserDb::open_with(path, Params::default())
    }

    /// Open with explicit Argon2 parameters (tests use cheap ones; stored hashes carry their
    /// own parameters, so verification works whatever these are).
    pub fn open_with(path: &Path, params: Params) -> Result<UserDb> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| UserError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if v > MIGRATIONS.len() as i64 {
            return Err(UserError::TooNew(v));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v.max(0) as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(UserDb {
            conn: Mutex::new(conn),
            argon: Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hash(&self, password: &str) -> Result<String> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::Invalid(format!(
                "password too short: at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        self.argon
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|_| UserError::Hash)
    }

    /// Create a user.
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<User> {
        if !valid_name(name) {
            return Err(UserError::Invalid(format!(
                "invalid user name `{name}`: letters, digits, _ - . @, at most 64"
            )));
        }
        let hash = self.hash(password)?;
        let conn = self.conn();
        let n = conn.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![name, role.as_str(), hash, ts(Utc::now())],
        )?;
        if n == 0 {
            return Err(UserError::Exists(name.to_string()));
        }
        Ok(User {
            id: conn.last_insert_rowid(),
            name: name.to_string(),
            role,
        })
    }

    /// Change a password; every session of the user ends.
    pub fn set_password(&self, name: &str, password: &str) -> Result<()> {
        let hash = self.hash(password)?;
        let user = self
            .user(name)?
            .ok_or_else(|| UserError::NoSuchUser(name.to_string()))?;
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.id, hash],
        )?;
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user.id])?;
        tx.commit()?;
        Ok(())
    }

    /// One user by name.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, role FROM users WHERE name = ?1",
                [name],
                user_row,
            )
            .optional()?
            .flatten())
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT id, name, role FROM users ORDER BY name")?;
        let rows = st.query_map([], user_row)?;
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Check a name and password. `None` for an unknown name or a wrong password alike; an
    /// unknown name still costs one hash so timing does not tell names apart.
    pub fn verify(&self, name: &str, password: &str) -> Result<Option<User>> {
        let row: Option<(i64, String, String)> = self
            .conn()
            .query_row(
                "SELECT id, role, password_hash FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((id, role, hash)) = row else {
            let _ = self.argon.hash_password(password.as_bytes());
            return Ok(None);
        };
        let ok = self
            .argon
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok();
        Ok(match (ok, Role::parse(&role)) {
            (true, Some(role)) => Some(User {
                id,
                name: name.to_string(),
                role,
            }),
            _ => None,
        })
    }

    /// Start a session; returns the cookie token (shown once) and the session.
    pub fn create_session(&self, user: &User, now: DateTime<Utc>) -> Result<(String, Session)> {
        let token = random_token();
        let csrf = random_token();
        let ttl = chrono::Duration::from_std(SESSION_TTL).unwrap_or(chrono::Duration::hours(12));
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(now)])?;
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash(&token), user.id, csrf, ts(now), ts(now + ttl)],
        )?;
        Ok((
            token,
            Session {
                user: user.clone(),
                csrf,
            },
        ))
    }

    /// The live session of a cookie token, if any.
    pub fn session(&self, token: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = self
            .conn()
            .query_row(
                "SELECT u.id, u.name, u.role, s.csrf FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![token_hash(token), ts(now)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(id, name, role, csrf)| {
            Role::parse(&role).map(|role| Session {
                user: User { id, name, role },
                csrf,
            })
        }))
    }

    /// End a session.
    pub fn end_session(&self, token: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [token_hash(token)],
        )?;
        Ok(())
    }

    /// Issue a new API token for a user; returned once, stored hashed.
    pub fn create_api_token(&self, name: &str) -> Result<String> {
        let user = self
            .user(name)?
            .ok_or_else(|| UserError::NoSuchUser(name.to_string()))?;
        let token = format!("yq_{}", random_token());
        self.conn().execute(
            "INSERT INTO api_tokens (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash(&token), user.id, ts(Utc::now())],
        )?;
        Ok(token)
    }

    /// The user of an API token, if it is known.
    pub fn api_token_user(&self, token: &str) -> Result<Option<User>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = ?1",
                [token_hash(token)],
                user_row,
            )
            .optional()?
            .flatten())
    }
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<User>> {
    let role: String = r.get(2)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, UserDb) {
        let dir = tempfile::tempdir().unwrap();
        let p = Params::new(1024, 1, 1, None).unwrap();
        let db = UserDb::open_with(&dir.path().join("users.db"), p).unwrap();
        (dir, db)
    }

    #[test]
    fn passwords_sessions_and_tokens() {
        let (_d, db) = db();
        let u = db.add_user("li", Role::Analyst, "correct horse").unwrap();
        assert!(matches!(
            db.add_user("li", Role::Viewer, "correct horse"),
            Err(UserError::Exists(_))
        ));
        assert!(db.add_user("x", Role::Viewer, "short").is_err());
        assert_eq!(db.verify("li", "correct horse").unwrap(), Some(u.clone()));
        assert_eq!(db.verify("li", "wrong horse!").unwrap(), None);
        assert_eq!(db.verify("nobody", "correct horse").unwrap(), None);

        let now = Utc::now();
        let (tok, s) = db.create_session(&u, now).unwrap();
        assert_eq!(db.session(&tok, now).unwrap(), Some(s));
        assert_eq!(
            db.session(&tok, now + chrono::Duration::days(1)).unwrap(),
            None
        );
        db.set_password("li", "another horse").unwrap();
        assert_eq!(
            db.session(&tok, now).unwrap(),
            None,
            "password change ends sessions"
        );

        let api = db.create_api_token("li").unwrap();
        assert_eq!(
            db.api_token_user(&api).unwrap().map(|u| u.name),
            Some("li".into())
        );
        assert_eq!(db.api_token_user("yq_nope").unwrap(), None);
        let stored: String = db
            .conn()
            .query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, api, "tokens are stored hashed");
    }
}

//! The console's sign-ins and sessions.

use certkeep_core::{
    AccessRole, ApiKeyRole, ConsoleLogin, ConsoleSession, ConsoleStore, Id, NewConsoleSession, StoreResult,
};
use time::OffsetDateTime;

use super::db::{DbError, Row, params};
use super::{Engine, Mode, SqlStore, inventory::user_scope, rows};

fn role_at(row: &Row, index: usize) -> Result<ApiKeyRole, DbError> {
    let code: i64 = row.get(index)?;
    ApiKeyRole::from_code(code).ok_or_else(|| DbError::Data(format!("unknown console role {code}")))
}

impl<E: Engine> ConsoleStore for SqlStore<E> {
    fn set_console_login(&self, login: &ConsoleLogin, now: OffsetDateTime) -> StoreResult<bool> {
        self.run(Mode::Write, |db| {
            if !db.exists("SELECT 1 FROM users WHERE id = ?", params![login.user_id])? {
                return Ok(false);
            }
            // A new password ends the sessions the old one opened.
            db.execute("DELETE FROM console_sessions WHERE user_id = ?", params![login.user_id])?;
            db.execute(
                "INSERT INTO console_logins (user_id, password_hash, role, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, \
                 role = excluded.role, updated_at = excluded.updated_at",
                params![login.user_id, login.password_hash, login.role.code(), now.unix_timestamp()],
            )?;
            Ok(true)
        })
    }

    fn console_login(&self, username: &str) -> StoreResult<Option<ConsoleLogin>> {
        self.run(Mode::Read, |db| {
            db.row_opt(
                "SELECT l.user_id, l.password_hash, l.role FROM console_logins l \
                 JOIN users u ON u.id = l.user_id WHERE u.username = ?",
                params![username],
                |r| Ok(ConsoleLogin { user_id: r.get(0)?, password_hash: r.get(1)?, role: role_at(r, 2)? }),
            )
        })
    }

    fn create_console_session(&self, session: &NewConsoleSession) -> StoreResult<()> {
        self.run(Mode::Write, |db| {
            db.execute(
                "DELETE FROM console_sessions WHERE expires_at <= ?",
                params![session.created_at.unix_timestamp()],
            )?;
            db.execute(
                "INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?)",
                params![
                    session.token_hash,
                    session.user_id,
                    session.csrf_token,
                    session.created_at.unix_timestamp(),
                    session.expires_at.unix_timestamp()
                ],
            )?;
            Ok(())
        })
    }

    fn console_session(&self, token_hash: &[u8], now: OffsetDateTime) -> StoreResult<Option<ConsoleSession>> {
        self.run(Mode::Snapshot, |db| {
            let found = db.row_opt(
                "SELECT s.user_id, u.username, u.account_id, u.container_id, c.parent_id, l.role, \
                 u.access_role, s.csrf_token, s.expires_at \
                 FROM console_sessions s JOIN console_logins l ON l.user_id = s.user_id \
                 JOIN users u ON u.id = s.user_id JOIN containers c ON c.id = u.container_id \
                 WHERE s.token_hash = ? AND s.expires_at > ?",
                params![token_hash, now.unix_timestamp()],
                |r| {
                    let access: i64 = r.get(6)?;
                    let access_role = AccessRole::from_code(access)
                        .ok_or_else(|| DbError::Data(format!("unknown access role {access}")))?;
                    Ok((
                        (r.get::<Id>(0)?, r.get::<String>(1)?, r.get::<Id>(2)?, r.get::<Id>(3)?),
                        r.get::<Option<Id>>(4)?,
                        (role_at(r, 5)?, access_role, r.get::<String>(7)?, rows::time_at(r, 8)?),
                    ))
                },
            )?;
            let Some(((user_id, username, account_id, container_id), parent, rest)) = found else {
                return Ok(None);
            };
            let (role, access_role, csrf_token, expires_at) = rest;
            let scope = user_scope(db, account_id, container_id, parent)?;
            Ok(Some(ConsoleSession {
                user_id,
                username,
                container_id,
                role,
                access_role,
                scope,
                csrf_token,
                expires_at,
            }))
        })
    }

    fn delete_console_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        self.run(Mode::Write, |db| {
            Ok(db.execute("DELETE FROM console_sessions WHERE token_hash = ?", params![token_hash])? > 0)
        })
    }
}

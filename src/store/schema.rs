//! The schema as the binary expects it: whether migrations are due, opening a database that
//! must already exist (audit commands), the app role's privileges, and naming the database.

use std::collections::HashMap;

use sqlx::Row;

use super::{Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError, StoreOptions};

impl Store {
    /// Opens a database that must exist and be at this binary's schema; creates nothing and
    /// migrates nothing (for `onbehalf audit`).
    pub async fn open_existing(options: &StoreOptions) -> Result<Store, StoreError> {
        let store = match Store::connect_to(options, false).await {
            Ok(store) => store,
            Err(StoreError::Unavailable(e)) if is_missing_database(&e) => {
                return Err(StoreError::Missing(format!(
                    "there is no database {} ({e})",
                    database_label(&options.url)
                )));
            }
            Err(e) => return Err(e),
        };
        if !store.schema_is_current().await? {
            let label = database_label(&options.url);
            store.close().await;
            return Err(StoreError::Missing(format!(
                "{label} holds no trail at this onbehalf's schema (empty, older, or not onbehalf's); if it is onbehalf's, run `onbehalf migrate` first"
            )));
        }
        Ok(store)
    }

    /// Whether every migration this binary knows is applied, unchanged, and no other.
    pub(super) async fn schema_is_current(&self) -> Result<bool, StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let rows = match sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows,
            // No migrations table yet (or no right to read it): the migrator decides.
            Err(sqlx::Error::Database(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let mut applied = HashMap::with_capacity(rows.len());
        for row in rows {
            applied.insert(
                row.try_get::<i64, _>("version")?,
                row.try_get::<Vec<u8>, _>("checksum")?,
            );
        }
        let known: Vec<_> = migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .collect();
        Ok(applied.len() == known.len()
            && known
                .iter()
                .all(|m| applied.get(&m.version).map(Vec::as_slice) == Some(&*m.checksum)))
    }

    /// Grants `role` exactly what `receive` and `work` need (PostgreSQL; see
    /// `migrations/postgres/0005_app_role.sql`). Run as the schema's owner, after migrating.
    pub async fn grant_app_role(&self, role: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Unsupported(
                "ONBEHALF_DATABASE_APP_ROLE applies to PostgreSQL; a SQLite file has no roles"
                    .into(),
            ));
        }
        let exists = sqlx::query("SELECT 1 AS one FROM pg_roles WHERE rolname = $1")
            .bind(role)
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::Missing(format!(
                "the app role {role:?} (ONBEHALF_DATABASE_APP_ROLE) does not exist: create it first, e.g. CREATE ROLE {role} LOGIN PASSWORD '…'"
            )));
        }
        sqlx::query("SELECT onbehalf_grant_app_role($1) AS granted")
            .bind(role)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_permission_denied(&e) {
                    StoreError::NotPermitted(format!(
                        "cannot grant {role:?} its privileges ({e}): run `onbehalf migrate` as the schema's owner"
                    ))
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }

    /// PostgreSQL must store text as UTF-8: in any other encoding many characters a comment
    /// may hold cannot be stored at all (see `storable`).
    pub(super) async fn check_encoding(&self) -> Result<(), StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let encoding: String = sqlx::query("SELECT pg_encoding_to_char(encoding)::TEXT AS e FROM pg_database WHERE datname = current_database()")
            .fetch_one(&self.pool)
            .await?
            .try_get("e")?;
        if encoding != "UTF8" {
            return Err(StoreError::Unsupported(format!(
                "the database's encoding is {encoding}: onbehalf needs UTF8 (CREATE DATABASE … ENCODING 'UTF8')"
            )));
        }
        Ok(())
    }
}

/// The database a URL names, for people: the SQLite file's absolute path, or the PostgreSQL
/// database, host and user (never a password).
pub fn database_label(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let file = rest
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default();
        return format!("SQLite database {}", absolute(file));
    }
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let name = u.path().trim_start_matches('/');
            let host = u.host_str().unwrap_or("localhost");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let user = match u.username() {
                "" => String::new(),
                user => format!(" as {user}"),
            };
            format!("PostgreSQL database {name:?} on {host}{port}{user}")
        }
        Err(_) => "a database whose URL does not parse".to_string(),
    }
}

pub(super) fn absolute(file: &str) -> String {
    let path = std::path::Path::new(file);
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .map_or_else(|_| file.to_string(), |p| p.display().to_string())
}

pub(super) fn is_permission_denied(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("42501"))
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    // invalid_catalog_name: the database named in the URL does not exist.
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_labels_name_the_database_and_never_a_password() {
        assert_eq!(
            database_label("postgres://app:s3cret@db.internal:5433/onbehalf?sslmode=require"),
            "PostgreSQL database \"onbehalf\" on db.internal:5433 as app"
        );
        let label = database_label("sqlite://relative/dir/onbehalf.db");
        assert!(label.starts_with("SQLite database /"), "{label}");
        assert!(label.ends_with("relative/dir/onbehalf.db"), "{label}");
    }
}

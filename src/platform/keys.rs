//! The shop's master key: 256 random bits in a file outside the database (mode 0600),
//! created on first run. The code vault derives its encryption and fingerprint keys from it.
//!
//! The database keeps the key's id and a check value (`key_checks`), both derived one way
//! from it: [`open`] refuses a key file that is missing, different from the one the codes
//! were sealed under, or readable by others — instead of making a new key, which would
//! leave every sealed code unreadable and let the same code be imported twice.
use crate::entities::key_check;
use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use rand::RngCore;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set, sea_query::OnConflict};
use sha2::Sha256;
use std::{fs, io::Write, path::Path};

pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file {path} is not 32 bytes (64 hex characters)")]
    Malformed { path: String },
    #[error("key file {path} may be read by other users (mode {mode:o}); the key opens every code: `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error(
        "key file {path} is missing, but this database's codes are sealed under key {expected}: restore that key file \
         (from the backup kept apart from the database); a new key would leave every code unreadable"
    )]
    Missing { path: String, expected: String },
    #[error(
        "key file {path} holds key {found}, but this database's codes are sealed under key {expected}: point \
         key_file at the right file"
    )]
    WrongKey { path: String, found: String, expected: String },
    #[error("checking the key against the database: {0}")]
    Db(#[from] DbErr),
}

impl MasterKey {
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn derive(&self, label: &[u8], out: &mut [u8]) {
        Hkdf::<Sha256>::new(Some(b"quanyi-key"), &self.0).expand(label, out).expect("a valid length");
    }

    /// The key's public name: 64 bits derived one way from it, shown in messages.
    pub fn id(&self) -> String {
        let mut id = [0u8; 8];
        self.derive(b"key-id/v1", &mut id);
        hex::encode(id)
    }

    /// What the database keeps to recognise the key (derived one way; reveals nothing).
    fn check_value(&self) -> String {
        let mut check = [0u8; 16];
        self.derive(b"key-check/v1", &mut check);
        hex::encode(check)
    }

    fn load(path: &Path) -> Result<Self, KeyError> {
        let name = || path.display().to_string();
        let io = |source| KeyError::Io { path: name(), source };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::TooOpen { path: name(), mode });
            }
        }
        let text = fs::read_to_string(path).map_err(io)?;
        let raw = hex::decode(text.trim()).map_err(|_| KeyError::Malformed { path: name() })?;
        let key: [u8; 32] = raw.try_into().map_err(|_| KeyError::Malformed { path: name() })?;
        Ok(Self(key))
    }

    /// Loads the key, creating it (and its folder) with mode 0600 when missing. Without
    /// the database's check: [`open`] is what the shop and its commands use.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        if path.exists() {
            return Self::load(path);
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(path).map_err(io)?;
        file.write_all(hex::encode(key).as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self(key))
    }
}

/// The shop's key, checked against the database: the key file at `path` must be the key
/// the database names (refused when missing, different or readable by others). On a
/// database that names none yet — a new shop, or one from before key checks — the file is
/// loaded (created when missing) and named as the database's key. Two instances starting
/// on a new database with different key files: the first to record wins, the other stops.
pub async fn open(db: &impl ConnectionTrait, path: &Path, now: DateTime<Utc>) -> Result<MasterKey, KeyError> {
    let name = || path.display().to_string();
    let named = key_check::Entity::find_by_id(CURRENT.to_owned()).one(db).await?;
    let key = match (&named, path.exists()) {
        (Some(known), false) => return Err(KeyError::Missing { path: name(), expected: known.key_id.clone() }),
        (None, _) => MasterKey::load_or_create(path)?,
        (Some(_), true) => MasterKey::load(path)?,
    };
    if named.is_none() {
        let row = key_check::ActiveModel {
            role: Set(CURRENT.into()),
            key_id: Set(key.id()),
            check_value: Set(key.check_value()),
            created_at: Set(now),
        };
        key_check::Entity::insert(row)
            .on_conflict(OnConflict::column(key_check::Column::Role).do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    let known = key_check::Entity::find_by_id(CURRENT.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::Custom("the key check vanished".into()))?;
    if known.check_value != key.check_value() {
        return Err(KeyError::WrongKey { path: name(), found: key.id(), expected: known.key_id });
    }
    Ok(key)
}

/// The `key_checks` role of the key codes are sealed under now.
const CURRENT: &str = "current";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("qy-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("k.key");
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let e = MasterKey::load_or_create(&path).unwrap_err();
            assert!(matches!(e, KeyError::TooOpen { mode: 0o644, .. }), "{e}");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(a.id().len(), 16);
        assert_ne!(a.id(), a.check_value()[..16]);
        fs::write(&path, "short").unwrap();
        assert!(matches!(MasterKey::load_or_create(&path), Err(KeyError::Malformed { .. })));
        fs::remove_dir_all(dir).ok();
    }
}

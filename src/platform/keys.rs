//! The shop's master key: 256 random bits in a file outside the database (mode 0600),
//! created on first run. The code vault derives its encryption and fingerprint keys from it.
use rand::RngCore;
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
}

impl MasterKey {
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Loads the key, creating it (and its folder) with mode 0600 when missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.display().to_string(), source };
        if path.exists() {
            let text = fs::read_to_string(path).map_err(io)?;
            let raw = hex::decode(text.trim()).map_err(|_| KeyError::Malformed { path: path.display().to_string() })?;
            let key: [u8; 32] = raw.try_into().map_err(|_| KeyError::Malformed { path: path.display().to_string() })?;
            return Ok(Self(key));
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
        fs::write(&path, "short").unwrap();
        assert!(matches!(MasterKey::load_or_create(&path), Err(KeyError::Malformed { .. })));
        fs::remove_dir_all(dir).ok();
    }
}

//! argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1), off the async threads, at most
//! [`slots`] at once: each takes 19 MiB and a core, and the paths that reach it (login,
//! sign-up, a checkout's look-up password, an order look-up) are open to anyone. When all
//! are taken the caller hears [`Busy`] at once instead of queueing, so a flood of logins
//! costs the shop a few cores' worth of hashing and no memory beyond it.
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use std::sync::{
    Arc, LazyLock, OnceLock,
    atomic::{AtomicUsize, Ordering},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every password hash or check slot is taken: try again in a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

/// Hashes and checks that may run at once: two per core.
pub fn slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) * 2
}

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(slots())));
static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST_AT_ONCE: AtomicUsize = AtomicUsize::new(0);

/// The most hashes and checks that ever ran at once in this process (for tests and the
/// admin's health view).
pub fn most_at_once() -> usize {
    MOST_AT_ONCE.load(Ordering::Relaxed)
}

/// A slot, held while the work runs on a blocking thread.
struct Slot {
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn take() -> Result<Self, Busy> {
        let permit = SLOTS.clone().try_acquire_owned().map_err(|_| Busy)?;
        let now = RUNNING.fetch_add(1, Ordering::Relaxed) + 1;
        MOST_AT_ONCE.fetch_max(now, Ordering::Relaxed);
        Ok(Self { _permit: permit })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 2, 1, None).expect("valid params"))
}

pub async fn hash_password(password: &str) -> Result<String, Busy> {
    let slot = Slot::take()?;
    let password = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let salt = SaltString::generate(&mut OsRng);
        hasher().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
    })
    .await
    .expect("hashing task"))
}

pub async fn verify_password(password: &str, phc: &str) -> Result<bool, Busy> {
    let slot = Slot::take()?;
    let (password, phc) = (password.to_owned(), phc.to_owned());
    Ok(tokio::task::spawn_blocking(move || {
        let _slot = slot;
        PasswordHash::new(&phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false))
}

/// Does the work of a verification against a throw-away hash, so an unknown account
/// takes as long to refuse as a wrong password.
pub(super) async fn burn_equal_time(password: &str) -> Result<(), Busy> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let phc = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash_password("quanyi-dummy-password-for-timing").await?;
            DUMMY.get_or_init(|| h).clone()
        }
    };
    verify_password(password, &phc).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_params_and_verify() {
        let h = hash_password("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery staple", &h).await.unwrap());
        assert!(!verify_password("wrong", &h).await.unwrap());
        assert!(!verify_password("x", "not a hash").await.unwrap());
    }
}

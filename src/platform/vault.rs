//! The code vault's cryptography. Codes are sealed with XChaCha20-Poly1305 under a key
//! derived from the master key file (never stored in the database), and fingerprinted
//! with HMAC-SHA256 under a second derived key so that the same code is recognised
//! however and whenever it arrives, without the database ever holding it in clear.
use crate::platform::keys::MasterKey;
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct Vault {
    cipher: XChaCha20Poly1305,
    fingerprint_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a sealed code could not be opened (wrong key file, or tampered data)")]
    CannotOpen,
}

impl Vault {
    pub fn new(master: &MasterKey) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"quanyi-vault"), master.bytes());
        let mut enc = [0u8; 32];
        let mut fp = [0u8; 32];
        hk.expand(b"code-encryption/v1", &mut enc).expect("32 bytes is a valid length");
        hk.expand(b"code-fingerprint/v1", &mut fp).expect("32 bytes is a valid length");
        Self { cipher: XChaCha20Poly1305::new(&enc.into()), fingerprint_key: fp }
    }

    /// The canonical form of a code: NFKC (full-width → half-width), no zero-width
    /// characters, no surrounding space, inner runs of space folded to one.
    pub fn normalise(raw: &str) -> String {
        let nfkc: String = raw.nfkc().filter(|c| !matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}')).collect();
        nfkc.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Hex HMAC-SHA256 of the normalised code: unique across the shop.
    pub fn fingerprint(&self, normalised: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key).expect("any key length");
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// `nonce || ciphertext`, bound to `aad` (associated data): a code's fingerprint, or
    /// a kept API answer's record id, so sealed values cannot be swapped between rows.
    pub fn seal(&self, plaintext: &str, aad: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .expect("encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend(ct);
        out
    }

    /// The plaintext of `seal(plaintext, aad)`, if the key and `aad` are the same.
    pub fn open(&self, sealed: &[u8], aad: &str) -> Result<String, VaultError> {
        if sealed.len() <= NONCE_LEN {
            return Err(VaultError::CannotOpen);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| VaultError::CannotOpen)?;
        String::from_utf8(pt).map_err(|_| VaultError::CannotOpen)
    }

    /// What a code looks like before its owner reveals it (and in delivery emails): only
    /// its last characters, at most four. A card number with its password (`number,password`,
    /// or the two separated by a space, a tab or `|`) shows the number's last characters and
    /// nothing of the password: those would be the PIN's own digits.
    pub fn mask(code: &str) -> String {
        match code.trim().split_once([',', ' ', '\t', '|']) {
            Some((number, _password)) if !number.is_empty() => format!("{} ••••", Self::mask_one(number)),
            _ => Self::mask_one(code),
        }
    }

    fn mask_one(code: &str) -> String {
        let chars: Vec<char> = code.chars().collect();
        let keep = chars.len().min(4).min(chars.len() / 3);
        let hidden = chars.len() - keep;
        std::iter::repeat_n('•', hidden.clamp(4, 12)).chain(chars[hidden..].iter().copied()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        let dir = std::env::temp_dir().join(format!("qy-vault-{}", uuid::Uuid::new_v4()));
        let v = Vault::new(&MasterKey::load_or_create(&dir.join("k")).unwrap());
        std::fs::remove_dir_all(dir).ok();
        v
    }

    #[test]
    fn normalises_what_spreadsheets_do_to_codes() {
        assert_eq!(Vault::normalise("  ＡＢＣ１２３\u{200B} "), "ABC123");
        assert_eq!(Vault::normalise("1234  5678\t9"), "1234 5678 9");
    }

    #[test]
    fn seals_opens_and_refuses_tampering() {
        let v = vault();
        let code = "STAR-2026-ABCD-9F3K";
        let fp = v.fingerprint(code);
        let sealed = v.seal(code, &fp);
        assert!(!sealed.windows(code.len()).any(|w| w == code.as_bytes()), "plaintext in the sealed bytes");
        assert_eq!(v.open(&sealed, &fp).unwrap(), code);
        // The same code sealed twice gives different bytes (random nonce).
        assert_ne!(v.seal(code, &fp), sealed);
        // A sealed code moved to another row (another fingerprint) does not open.
        assert!(v.open(&sealed, &v.fingerprint("OTHER")).is_err());
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(v.open(&bad, &fp).is_err());
        // Another key file cannot open it.
        assert!(vault().open(&sealed, &fp).is_err());
    }

    #[test]
    fn fingerprints_are_keyed_and_stable() {
        let v = vault();
        assert_eq!(v.fingerprint("A1"), v.fingerprint("A1"));
        assert_ne!(v.fingerprint("A1"), v.fingerprint("A2"));
        assert_ne!(v.fingerprint("A1"), vault().fingerprint("A1"));
        assert_eq!(v.fingerprint("A1").len(), 64);
    }

    #[test]
    fn masks_keep_little() {
        assert_eq!(Vault::mask("STAR-2026-ABCD-9F3K"), "•••••••••••••••9F3K".chars().skip(3).collect::<String>());
        assert_eq!(Vault::mask("AB"), "••••");
        assert!(!Vault::mask("123456").contains("123"));
    }

    #[test]
    fn l13_a_card_number_with_its_password_shows_nothing_of_the_password() {
        for pair in ["6225880011112222,834901", "6225880011112222 834901", "6225880011112222|834901"] {
            let masked = Vault::mask(pair);
            assert_eq!(masked, format!("{} ••••", Vault::mask("6225880011112222")), "{pair}");
            assert!(!masked.contains("4901") && !masked.contains("834"), "{masked}");
        }
    }
}

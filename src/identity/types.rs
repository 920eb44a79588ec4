//! Parsed account inputs: the only ways in are the `parse` functions.
use super::AccountError;
use serde::{Deserialize, Serialize};

/// A trimmed, lower-cased, syntactically valid address of at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let s = raw.trim().to_lowercase();
        if s.len() > 254 || !email_address::EmailAddress::is_valid(&s) || !s.contains('.') {
            return Err(AccountError::InvalidEmail);
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password fit to be set: 10–128 characters and not guessable (zxcvbn, which carries
/// the common-password lists, scores it at least 3 of 4 with the email as a known word).
pub struct NewPassword(String);

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

impl NewPassword {
    pub fn parse(raw: &str, email: &str) -> Result<Self, AccountError> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(AccountError::PasswordTooShort);
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(AccountError::PasswordTooLong);
        }
        let local = email.split('@').next().unwrap_or_default();
        let entropy = zxcvbn::zxcvbn(raw, &[email, local, "quanyi"]);
        if (entropy.score() as u8) < 3 {
            return Err(AccountError::PasswordTooCommon);
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Customer,
    Agent,
    Enterprise,
    Partner,
    Owner,
    Operator,
    Finance,
    Support,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Customer,
        Role::Agent,
        Role::Enterprise,
        Role::Partner,
        Role::Owner,
        Role::Operator,
        Role::Finance,
        Role::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Enterprise => "enterprise",
            Role::Partner => "partner",
            Role::Owner => "owner",
            Role::Operator => "operator",
            Role::Finance => "finance",
            Role::Support => "support",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Staff roles may enter `/admin`.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Owner | Role::Operator | Role::Finance | Role::Support)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
        for bad in ["", "alice", "alice@", "@example.com", "a b@example.com", "alice@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn weak_passwords_are_refused() {
        let e = "alice@example.com";
        assert!(matches!(NewPassword::parse("short", e), Err(AccountError::PasswordTooShort)));
        assert!(matches!(NewPassword::parse(&"x".repeat(129), e), Err(AccountError::PasswordTooLong)));
        for common in ["password123", "qwertyuiop", "1234567890", "alice@example.com", "iloveyou123"] {
            assert!(matches!(NewPassword::parse(common, e), Err(AccountError::PasswordTooCommon)), "{common}");
        }
        NewPassword::parse("correct horse battery staple", e).unwrap();
        NewPassword::parse("Tr0ub4dor&3-quanyi-7", e).unwrap();
    }

    #[test]
    fn roles_round_trip_and_only_staff_enter_admin() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Owner.is_staff() && Role::Support.is_staff());
        assert!(!Role::Customer.is_staff() && !Role::Partner.is_staff());
    }
}

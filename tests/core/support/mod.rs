//! Helpers for the area tests, one file per area they serve; each re-exports its imports.
pub mod checkout;
pub mod identity;
pub mod inventory;
pub mod mall;
pub mod resellers;

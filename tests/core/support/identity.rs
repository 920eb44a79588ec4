//! Login-throttle limits for the identity tests. (Imports are re-exported for the area modules.)
#![allow(dead_code, unused_imports)]
pub use quanyi::{
    Clock, db_test,
    identity::audit,
    identity::{self, AccountError, Actor, ThrottleLimits},
};

pub fn limits() -> ThrottleLimits {
    ThrottleLimits { max_failures_account: 3, max_failures_ip: 5, window: chrono::Duration::minutes(15) }
}

pub const PW: &str = "correct horse battery staple";

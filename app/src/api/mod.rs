//! Server functions, thin by rule: session → one domain call → DTO. Endpoints are named
//! so their URLs never depend on the build. Every mutation redirects to a page that
//! renders its result, so forms work the same with and without JavaScript.
pub mod account;
pub mod admin;
pub mod admin_orders;
pub mod cart;
pub mod catalog;
pub mod catalog_admin;
pub mod inventory;
pub mod shop;

pub use account::*;
pub use admin::*;
pub use admin_orders::*;
pub use cart::*;
pub use catalog::*;
pub use catalog_admin::*;
pub use inventory::*;
pub use shop::*;

/// Only same-site paths are followed after login (no open redirects).
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    match next.map(str::trim) {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.contains("://") => {
            n.to_owned()
        }
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_local_only() {
        assert_eq!(super::safe_next(Some("/admin"), "/"), "/admin");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil", ""] {
            assert_eq!(super::safe_next(Some(bad), "/account"), "/account", "{bad}");
        }
    }
}

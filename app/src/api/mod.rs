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

/// Only same-site paths are followed after login or a language switch (no open
/// redirects): a path that starts with one `/`, in visible ASCII without a backslash.
/// Browsers drop tabs and line breaks from a URL and read a backslash as `/`, so `/\t/evil`
/// would become `//evil`; control characters also break the `Location` header. Anything
/// else goes to `default`.
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    let local = |n: &str| {
        let mut chars = n.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && n.chars().all(|c| c.is_ascii_graphic() && c != '\\')
            && !n.contains("://")
    };
    match next.map(str::trim) {
        Some(n) if local(n) => n.to_owned(),
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn m10_a_next_path_with_a_tab_or_any_control_is_not_followed() {
        assert_eq!(super::safe_next(Some("/admin"), "/"), "/admin");
        assert_eq!(super::safe_next(Some("/p/brew?sku=B-1&x=%2F"), "/"), "/p/brew?sku=B-1&x=%2F");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "\\/evil",
            "evil",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/ /evil.example",
            "/\u{0}/evil",
            "/\u{3000}/evil",
            "/a\\b",
        ] {
            assert_eq!(super::safe_next(Some(bad), "/account"), "/account", "{bad}");
        }
    }
}

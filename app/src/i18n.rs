//! The user's language: zh-CN by default, English one click away, remembered in the
//! `lang` cookie. The server reads the cookie; the browser reads `<html lang>`.
use leptos::prelude::*;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    ZhCn,
    En,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zh-CN" | "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }
    pub fn other(self) -> Self {
        match self {
            Locale::ZhCn => Locale::En,
            Locale::En => Locale::ZhCn,
        }
    }
    /// Reads the `lang=` pair out of a Cookie header.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|kv| kv.trim().strip_prefix("lang="))
            .find_map(Locale::parse)
            .unwrap_or_default()
    }
}

/// The locale of this render: from the request on the server, from the page in the browser.
pub fn current_locale() -> Locale {
    if let Some(l) = use_context::<Locale>() {
        return l;
    }
    #[cfg(feature = "ssr")]
    {
        use_context::<http_parts::Parts>()
            .and_then(|p| p.headers.get("cookie").and_then(|v| v.to_str().ok()).map(Locale::from_cookie_header))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|l| Locale::parse(&l))
            .unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
mod http_parts {
    pub use axum::http::request::Parts;
}

/// Translates a key in the current locale.
pub fn tr(key: &str) -> String {
    t(current_locale(), key)
}

pub fn t(locale: Locale, key: &str) -> String {
    let s: Cow<str> = rust_i18n::t!(key, locale = locale.tag());
    s.into_owned()
}

/// Translates an error for display.
pub fn error_text(locale: Locale, e: &crate::error::AppError) -> String {
    let text = t(locale, &e.key());
    let text = if text == e.key() { t(locale, "error.internal") } else { text };
    match e {
        crate::error::AppError::Coded { minutes: Some(m), .. } => text.replace("%{minutes}", &m.to_string()),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_and_fallback() {
        assert_eq!(Locale::from_cookie_header("a=b; lang=en; c=d"), Locale::En);
        assert_eq!(Locale::from_cookie_header("lang=fr"), Locale::ZhCn);
        assert_eq!(Locale::from_cookie_header(""), Locale::ZhCn);
    }

    #[test]
    fn every_key_exists_in_both_languages() {
        // Walk the zh-CN keys and make sure English has each one too (and vice versa).
        let zh: Vec<String> = rust_i18n::available_locales!().iter().map(|s| s.to_string()).collect();
        assert!(zh.contains(&"zh-CN".to_string()) && zh.contains(&"en".to_string()));
        for key in ["nav.home", "error.bad_credentials", "error.too_many_attempts", "admin.dashboard"] {
            assert_ne!(t(Locale::En, key), key, "{key} missing in en");
            assert_ne!(t(Locale::ZhCn, key), key, "{key} missing in zh-CN");
            assert_ne!(t(Locale::En, key), t(Locale::ZhCn, key), "{key} untranslated");
        }
    }
}

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

#[cfg(feature = "ssr")]
impl Locale {
    /// The domain's name for this locale (order lines' names, messages).
    pub fn language(self) -> quanyi::platform::language::Language {
        quanyi::platform::language::Language::of(Some(self.tag()))
    }
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
        header.split(';').filter_map(|kv| kv.trim().strip_prefix("lang=")).find_map(Locale::parse).unwrap_or_default()
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

    /// Every key the sources name (and every dynamic family) exists in both languages.
    #[test]
    fn every_key_used_is_translated_in_both_languages() {
        fn scan(dir: &std::path::Path, keys: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    scan(&path, keys);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for pat in ["t(locale, \"", "tr(\"", "t(l, \""] {
                        for part in text.split(pat).skip(1) {
                            let key = part.split('"').next().unwrap();
                            if key.contains('.') && !key.contains('{') {
                                keys.push(key.to_owned());
                            }
                        }
                    }
                }
            }
        }
        let mut keys = vec![];
        scan(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut keys);
        assert!(keys.len() > 80, "the scan found too few keys: {}", keys.len());
        for role in ["customer", "agent", "enterprise", "partner", "owner", "operator", "finance", "support"] {
            keys.push(format!("role.{role}"));
        }
        for status in crate::api::ORDER_STATUSES {
            keys.push(format!("status.{status}"));
        }
        for k in ["reason_delivery", "reason_resend", "delivery_queued", "delivery_sent", "delivery_retrying"] {
            keys.push(format!("admin.{k}"));
        }
        for s in ["available", "reserved", "sold", "void", "expired"] {
            keys.push(format!("code_status.{s}"));
        }
        for s in ["in_stock", "low", "sold_out"] {
            keys.push(format!("stock.{s}"));
        }
        for s in ["importing", "done", "interrupted"] {
            keys.push(format!("batches.status_{s}"));
        }
        for kind in ["order_delivered"] {
            keys.push(format!("messages.kind.{kind}"));
        }
        for kind in ["card_code", "direct_topup", "redemption_link"] {
            keys.push(format!("kind.{kind}"));
        }
        for code in [
            "invalid_email",
            "password_too_short",
            "password_too_long",
            "password_too_common",
            "password_mismatch",
            "email_taken",
            "bad_credentials",
            "wrong_current_password",
            "too_many_attempts",
            "password_busy",
            "forbidden",
            "login_required",
            "unknown_role",
            "not_found",
            "last_owner",
            "display_name_too_long",
            "internal",
            "csrf",
            "body_too_large",
            "bad_request",
            "cart_full",
            "nothing_to_resend",
            "resend_limited",
            "no_contact",
            "cart_empty",
            "provider_unavailable",
            "provider_disabled",
            "bad_refund_amount",
            "wrong_state",
            "csv_errors",
            "required",
            "too_long",
            "bad_money",
            "bad_color",
            "bad_slug",
            "bad_sku_code",
            "bad_kind",
            "bad_limits",
            "bad_threshold",
            "bad_pattern",
            "unknown_category",
            "unknown_product",
            "bad_date",
            "bad_image",
            "image_too_large",
            "no_such_member",
            "bad_lookup_password",
            "buyer_limit",
            "sold_out",
            "busy",
        ] {
            keys.push(format!("error.{code}"));
        }
        let mut missing = vec![];
        for key in &keys {
            for l in [Locale::ZhCn, Locale::En] {
                if t(l, key) == *key {
                    missing.push(format!("{}:{key}", l.tag()));
                }
            }
        }
        assert!(missing.is_empty(), "untranslated: {missing:?}");
        assert_ne!(t(Locale::En, "nav.home"), t(Locale::ZhCn, "nav.home"));
    }
}

//! Message templates: a folder per kind of message under `templates/`, a folder per
//! language in it, each with the subject, the text and HTML bodies and the text message
//! (`subject.txt`, `body.txt`, `body.html`, `sms.txt`), rendered with minijinja. HTML is
//! escaped by the engine; the rest is plain text.
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::sync::OnceLock;

pub use crate::platform::language::Language;

/// A message as rendered: what an email and a text message say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sms: String,
}

/// Every template, by `kind/language/part`.
const TEMPLATES: &[(&str, &str)] = &[
    ("order_ready/zh-CN/subject.txt", include_str!("templates/order_ready/zh-CN/subject.txt")),
    ("order_ready/zh-CN/body.txt", include_str!("templates/order_ready/zh-CN/body.txt")),
    ("order_ready/zh-CN/body.html", include_str!("templates/order_ready/zh-CN/body.html")),
    ("order_ready/zh-CN/sms.txt", include_str!("templates/order_ready/zh-CN/sms.txt")),
    ("order_ready/en/subject.txt", include_str!("templates/order_ready/en/subject.txt")),
    ("order_ready/en/body.txt", include_str!("templates/order_ready/en/body.txt")),
    ("order_ready/en/body.html", include_str!("templates/order_ready/en/body.html")),
    ("order_ready/en/sms.txt", include_str!("templates/order_ready/en/sms.txt")),
];

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("message templates parse");
        }
        env
    })
}

/// Renders the message `kind` in `language` from `data`.
pub fn render(kind: &str, language: Language, data: impl Serialize) -> Result<Message, String> {
    let env = environment();
    let data = minijinja::Value::from_serialize(data);
    let part = |part: &str| {
        env.get_template(&format!("{kind}/{}/{part}", language.tag()))
            .and_then(|t| t.render(&data))
            .map_err(|e| format!("message {kind}: {e}"))
    };
    Ok(Message {
        subject: part("subject.txt")?.trim().to_owned(),
        text: part("body.txt")?,
        html: part("body.html")?,
        sms: part("sms.txt")?.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_ready_message_renders_in_each_language_with_its_html_escaped() {
        let data = serde_json::json!({
            "order_no": "Q123",
            "resend": true,
            "link": "https://shop.example/o/Q123?t=abc",
            "lines": [{ "product": "<b>Tea</b>", "sku": "Cup", "quantity": 2, "codes": ["AB******CD"],
                        "refunded": 1, "notes": "Show at the till" }],
        });
        for language in Language::ALL {
            let m = render("order_ready", language, &data).unwrap();
            assert!(m.subject.contains("Q123") && !m.subject.contains('\n'), "{m:?}");
            assert!(m.text.contains("https://shop.example/o/Q123?t=abc") && m.text.contains("<b>Tea</b>"));
            assert!(m.html.contains("&lt;b&gt;Tea") && !m.html.contains("<b>Tea</b>"));
            assert_eq!(m.html.matches("<li><code>").count(), 1);
            assert!(m.sms.contains("Q123") && m.sms.contains("?t=abc"));
        }
        assert!(render("order_ready", Language::ZhCn, &data).unwrap().subject.contains("已发货（重发）"));
        assert!(render("order_ready", Language::En, &data).unwrap().subject.ends_with("is ready (sent again)"));
        assert_eq!(Language::of(Some("en")), Language::En);
        assert_eq!(Language::of(Some("fr")), Language::ZhCn);
        assert_eq!(
            (Language::En.choose("星影", "StarVideo"), Language::ZhCn.choose("星影", "StarVideo")),
            ("StarVideo", "星影")
        );
        assert_eq!(Language::En.choose("星影", ""), "星影");
    }
}

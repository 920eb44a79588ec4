//! Shared pieces of the mall and the admin.
mod admin_layout;
mod admin_ui;
mod form_error;
mod guest_contact;
mod mall_layout;
mod product_card;

pub use admin_layout::AdminLayout;
pub use admin_ui::{
    AsyncView, CheckField, DataTable, Field, InlineAction, MONEY_PATTERN, MoneyField, PageTitle, Panel, SelectField,
};
pub use form_error::{FormError, ResultView};
pub use guest_contact::GuestContact;
pub use mall_layout::{MallLayout, ShellRefresh};
pub use product_card::ProductCard;

/// Percent-encodes a path for use as a query value.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

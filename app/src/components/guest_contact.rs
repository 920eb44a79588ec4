use crate::i18n::{current_locale, t};
use leptos::prelude::*;

/// What a guest leaves at checkout: an email or a mobile number (at least one, checked on
/// the server), and an optional look-up password that guards finding the order again.
#[component]
pub fn GuestContact() -> impl IntoView {
    let locale = current_locale();
    view! {
        <label>{t(locale, "product.guest_email")}
            <input type="email" name="email" maxlength="254" inputmode="email" autocomplete="email"/>
        </label>
        <label>{t(locale, "product.guest_phone")}
            <input type="tel" name="phone" maxlength="20" inputmode="tel" autocomplete="tel" placeholder="13800138000"/>
        </label>
        <small class="muted">{t(locale, "product.guest_hint")}</small>
        <details class="small">
            <summary>{t(locale, "product.lookup_password")}</summary>
            <label>{t(locale, "product.lookup_password_hint")}
                <input type="password" name="lookup_password" minlength="6" maxlength="128" autocomplete="new-password"/>
            </label>
        </details>
    }
}

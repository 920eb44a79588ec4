use crate::api::Register as RegisterFn;
use crate::components::FormError;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Register() -> impl IntoView {
    let locale = current_locale();
    let action = ServerAction::<RegisterFn>::new();
    view! {
        <Title text=t(locale, "register.title")/>
        <div class="auth-card panel">
            <h1>{t(locale, "register.title")}</h1>
            <FormError result=action.value()/>
            <ActionForm action=action attr:class="form" attr:data-testid="register-form">
                <label>{t(locale, "field.email")}
                    <input type="email" name="email" required autocomplete="email" maxlength="254" inputmode="email"/>
                </label>
                <label>{t(locale, "field.display_name")}" "<span class="muted small">{t(locale, "common.optional")}</span>
                    <input type="text" name="display_name" autocomplete="nickname" maxlength="80"/>
                </label>
                <label>{t(locale, "field.password")}
                    <input type="password" name="password" required autocomplete="new-password" minlength="10" maxlength="128"/>
                    <small class="muted">{t(locale, "register.password_rules")}</small>
                </label>
                <label>{t(locale, "field.confirm")}
                    <input type="password" name="confirm" required autocomplete="new-password" minlength="10" maxlength="128"/>
                </label>
                <button class="btn block" type="submit">{t(locale, "register.submit")}</button>
            </ActionForm>
            <p class="muted small">{t(locale, "register.have_account")}" "<a href="/login">{t(locale, "nav.login")}</a></p>
        </div>
    }
}

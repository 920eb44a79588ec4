use crate::api::Login as LoginFn;
use crate::components::FormError;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let locale = current_locale();
    let action = ServerAction::<LoginFn>::new();
    let next = use_query_map().get_untracked().get("next").unwrap_or_default();
    view! {
        <Title text=t(locale, "login.title")/>
        <div class="auth-card panel">
            <h1>{t(locale, "login.title")}</h1>
            <FormError result=action.value()/>
            <ActionForm action=action attr:class="form" attr:data-testid="login-form">
                <input type="hidden" name="next" value=next/>
                <label>{t(locale, "field.email")}
                    <input type="email" name="email" required autocomplete="username" maxlength="254" inputmode="email"/>
                </label>
                <label>{t(locale, "field.password")}
                    <input type="password" name="password" required autocomplete="current-password" maxlength="128"/>
                </label>
                <button class="btn block" type="submit">{t(locale, "login.submit")}</button>
            </ActionForm>
            <p class="muted small">{t(locale, "login.no_account")}" "<a href="/register">{t(locale, "nav.register")}</a></p>
        </div>
    }
}

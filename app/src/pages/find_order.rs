use crate::api::LookupOrder;
use crate::components::FormError;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn FindOrder() -> impl IntoView {
    let locale = current_locale();
    let action = ServerAction::<LookupOrder>::new();
    view! {
        <Title text=t(locale, "lookup.title")/>
        <div class="auth-card panel">
            <h1>{t(locale, "lookup.title")}</h1>
            <p class="muted small">{t(locale, "lookup.hint")}</p>
            <FormError result=action.value()/>
            <ActionForm action=action attr:class="form" attr:data-testid="lookup-form">
                <label>{t(locale, "order.number")}
                    <input type="text" name="order_no" required maxlength="24" autocomplete="off" placeholder="Q…"/>
                </label>
                <label>{t(locale, "lookup.contact")}
                    <input type="text" name="contact" required maxlength="254" autocomplete="email"/>
                </label>
                <label>{t(locale, "lookup.password")}
                    <input type="password" name="password" maxlength="128" autocomplete="current-password"/>
                </label>
                <button class="btn block" type="submit">{t(locale, "lookup.submit")}</button>
            </ActionForm>
        </div>
    }
}

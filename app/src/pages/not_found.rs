use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::not_found();
    let locale = current_locale();
    view! {
        <Title text=t(locale, "notfound.title")/>
        <div class="panel empty notfound">
            <p class="big" aria-hidden="true">"🔎"</p>
            <h1>{t(locale, "notfound.title")}</h1>
            <p class="muted">{t(locale, "notfound.body")}</p>
            <a class="btn" href="/">{t(locale, "nav.home")}</a>
        </div>
    }
}

//! The Leptos app: pages, components, thin server functions and translations.
//! Compiled twice: with `ssr` into the server, with `hydrate` into the browser's WASM.
#![recursion_limit = "256"]

rust_i18n::i18n!("locales", fallback = "zh-CN");

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod i18n;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use app::{App, shell};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`, waited for: a lazy route (the admin) hydrates once its chunk has
    // arrived, and only then does the body say it is interactive (tests wait for that).
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("a page has a body");
        leptos::mount::hydrate_from_async(body.clone(), App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

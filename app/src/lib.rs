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
    leptos::mount::hydrate_body(App);
    // Lets tests (and curious people) see that the page is interactive now.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

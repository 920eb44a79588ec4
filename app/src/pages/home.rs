use crate::api::get_home;
use crate::components::{ProductCard, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    let locale = current_locale();
    let sections = Resource::new(|| (), |_| get_home());
    view! {
        <Title text=""/>
        <section class="hero">
            <div>
                <h1>{t(locale, "home.title")}</h1>
                <p>{t(locale, "home.subtitle")}</p>
            </div>
            <ul class="promises">
                <li><span aria-hidden="true">"⚡"</span>{t(locale, "home.promise_instant")}</li>
                <li><span aria-hidden="true">"✅"</span>{t(locale, "home.promise_genuine")}</li>
                <li><span aria-hidden="true">"💬"</span>{t(locale, "home.promise_support")}</li>
            </ul>
        </section>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=sections.await view=move |sections| {
                        let products: Vec<_> = sections.iter().flat_map(|s| s.products.clone()).collect();
                        view! {
                            <nav class="tiles" aria-label=t(locale, "nav.categories")>
                                {sections.into_iter().map(|s| view! {
                                    <a class="tile" href=format!("/c/{}", s.slug)>
                                        <span class="tile-icon" aria-hidden="true">{s.icon}</span>
                                        <span class="tile-name">{s.name}</span>
                                        <span class="tile-count">{t(locale, "home.count").replace("%{n}", &s.products.len().to_string())}</span>
                                    </a>
                                }).collect_view()}
                            </nav>
                            <section class="shelf">
                                <div class="shelf-head"><h2>{t(locale, "home.all_products")}</h2></div>
                                <div class="grid">
                                    {products.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
                                </div>
                            </section>
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}

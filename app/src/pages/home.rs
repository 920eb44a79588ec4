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
                        sections.into_iter().filter(|s| !s.products.is_empty()).map(|s| view! {
                            <section class="shelf" id=s.slug.clone()>
                                <div class="shelf-head">
                                    <h2>{s.icon}" "{s.name}</h2>
                                    <a class="more" href=format!("/c/{}", s.slug)>{t(locale, "home.see_all")}" →"</a>
                                </div>
                                <div class="grid">
                                    {s.products.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
                                </div>
                            </section>
                        }).collect_view()
                    }/>
                }
            })}
        </Suspense>
    }
}

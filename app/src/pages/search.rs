use crate::api::search_products;
use crate::components::{ProductCard, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Search() -> impl IntoView {
    let locale = current_locale();
    let query = use_query_map();
    let q = move || query.get().get("q").unwrap_or_default();
    let results = Resource::new(q, search_products);
    view! {
        <Title text=t(locale, "nav.search")/>
        <h1 class="page-title">{t(locale, "search.title")}</h1>
        <form class="search search-page" action="/search" method="get" role="search">
            <input type="search" name="q" value=q aria-label=t(locale, "nav.search") placeholder=t(locale, "nav.search_placeholder")/>
            <button class="btn" type="submit">{t(locale, "nav.search")}</button>
        </form>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                let query_text = q();
                view! {
                    <ResultView result=results.await view=move |found| {
                        if found.is_empty() {
                            let msg = if query_text.trim().is_empty() { t(locale, "search.prompt") } else { t(locale, "search.none").replace("%{q}", &query_text) };
                            view! { <p class="panel empty" data-testid="search-empty">{msg}</p> }.into_any()
                        } else {
                            view! {
                                <p class="muted">{t(locale, "search.count").replace("%{n}", &found.len().to_string())}</p>
                                <div class="grid">
                                    {found.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
                                </div>
                            }.into_any()
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}

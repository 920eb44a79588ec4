use crate::api::get_category;
use crate::components::{ProductCard, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn CategoryPage() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let data = Resource::new(move || params.get().get("slug").unwrap_or_default(), get_category);
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |c| match c {
                        Some(c) => view! {
                            <Title text=c.name.clone()/>
                            <h1 class="page-title">{c.icon}" "{c.name}</h1>
                            {c.products.is_empty().then(|| view! { <p class="panel empty">{t(locale, "catalog.empty")}</p> })}
                            <div class="grid">
                                {c.products.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
                            </div>
                        }.into_any(),
                        None => view! { <super::NotFound/> }.into_any(),
                    }/>
                }
            })}
        </Suspense>
    }
}

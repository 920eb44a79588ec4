use crate::api::get_product;
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn ProductPage() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let data = Resource::new(move || params.get().get("slug").unwrap_or_default(), get_product);
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |p| match p {
                        None => view! { <super::NotFound/> }.into_any(),
                        Some(p) => view! {
                            <Title text=p.name.clone()/>
                            <Meta name="description" content=p.summary.clone()/>
                            <nav class="crumbs small muted">
                                <a href="/">{t(locale, "nav.home")}</a>
                                {p.category.clone().map(|(slug, name)| view! { " / "<a href=format!("/c/{slug}")>{name}</a> })}
                            </nav>
                            <article class="product" style=format!("--accent:{}", p.color)>
                                <div class="product-hero">
                                    <div class="product-art large" aria-hidden="true"><span>{p.brand.clone()}</span></div>
                                    <div class="product-info">
                                        <h1>{p.name.clone()}</h1>
                                        <p class="muted">{p.summary.clone()}</p>
                                        <ul class="sku-list" aria-label=t(locale, "product.options")>
                                            {p.skus.into_iter().map(|s| view! {
                                                <li class="sku" data-sku=s.code.clone()>
                                                    <div>
                                                        <strong>{s.name}</strong>
                                                        <span class="muted small kind">{t(locale, &format!("kind.{}", s.kind))}</span>
                                                    </div>
                                                    <div class="sku-price">
                                                        <strong class="price">{s.price}</strong>
                                                        <s class="muted small">{s.face_value}</s>
                                                    </div>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                        <p class="muted small">{t(locale, "product.delivery_note")}</p>
                                    </div>
                                </div>
                                <section class="panel">
                                    <h2>{t(locale, "product.description")}</h2>
                                    <p>{p.description}</p>
                                </section>
                                <section class="panel usage">
                                    <h2>{t(locale, "product.usage")}</h2>
                                    <p class="pre">{p.usage_notes}</p>
                                </section>
                            </article>
                        }.into_any(),
                    }/>
                }
            })}
        </Suspense>
    }
}

use crate::api::{Checkout, get_product};
use crate::components::{FormError, GuestContact, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

#[component]
pub fn ProductPage() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let data = Resource::new(move || params.get().get("slug").unwrap_or_default(), get_product);
    let checkout = ServerAction::<Checkout>::new();
    view! {
            <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
                {move || Suspend::new(async move {
                    view! {
                        <ResultView result=data.await view=move |p| match p {
                            None => view! { <super::NotFound/> }.into_any(),
                            Some(p) => { let signed_in = p.signed_in; view! {
                                <Title text=p.name.clone()/>
                                <Meta name="description" content=p.summary.clone()/>
                                <nav class="crumbs small muted">
                                    <a href="/">{t(locale, "nav.home")}</a>
                                    {p.category.clone().map(|(slug, name)| view! { " / "<a href=format!("/c/{slug}")>{name}</a> })}
                                </nav>
                                <article class="product" style=format!("--accent:{}", p.color)>
                                    <div class="product-hero">
                                        {match p.image.clone() {
                                            Some(img) => view! { <img class="product-art large" src=format!("/media/{img}") alt=p.name.clone() width="320" height="200"/> }.into_any(),
                                            None => view! { <div class="product-art large" aria-hidden="true"><span>{p.brand.clone()}</span></div> }.into_any(),
                                        }}
                                        <div class="product-info">
                                            <h1>{p.name.clone()}</h1>
                                            <p class="muted">{p.summary.clone()}</p>
                                            <FormError result=checkout.value()/>
                                            <ActionForm action=checkout attr:class="buy-form" attr:data-testid="buy-form">
                                                <fieldset class="sku-list">
                                                    <legend class="small muted">{t(locale, "product.options")}</legend>
                                                    {p.skus.iter().enumerate().map(|(i, s)| view! {
                                                        <label class="sku" data-sku=s.code.clone()>
                                                            <input type="radio" name="sku" value=s.code.clone() checked=i == 0 disabled=s.stock == "sold_out"/>
                                                            <div class="sku-name">
                                                                <strong>{s.name.clone()}</strong>
                                                                <span class="muted small kind">{t(locale, &format!("kind.{}", s.kind))}</span>
                                                                <span class=format!("stock stock-{}", s.stock) data-testid="stock-state">{t(locale, &format!("stock.{}", s.stock))}</span>
                                                            </div>
                                                            <div class="sku-price">
                                                                <strong class="price">{s.price.clone()}</strong>
                                                                <s class="muted small">{s.face_value.clone()}</s>
                                                            </div>
                                                        </label>
                                                    }).collect_view()}
                                                </fieldset>
                                                <div class="buy-fields">
                                                    <label class="qty">{t(locale, "product.quantity")}
                                                        <input type="number" name="quantity" value="1" min="1" max="10" required inputmode="numeric"/>
                                                    </label>
                                                    {p.skus.iter().any(|s| s.needs_account).then(|| view! {
                                                        <label>{t(locale, "product.topup_account")}
                                                            <input type="tel" name="topup_account" required inputmode="tel" maxlength="20" placeholder="13800138000"/>
                                                        </label>
                                                    })}
    {(!signed_in).then(|| view! { <GuestContact/> })}
                                                </div>
                                                <div class="buy-buttons">
                                                    <button class="btn secondary" type="submit" name="intent" value="cart" formnovalidate data-testid="add-to-cart">{t(locale, "product.add_to_cart")}</button>
                                                    <button class="btn" type="submit" name="intent" value="buy" data-testid="buy-now">{t(locale, "product.buy")}</button>
                                                </div>
                                            </ActionForm>
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
                            }.into_any() },
                        }/>
                    }
                })}
            </Suspense>
        }
}

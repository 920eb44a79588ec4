use crate::api::{CartCheckout, CartRemove, CartUpdate, get_cart};
use crate::components::{FormError, GuestContact, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CartPage() -> impl IntoView {
    let locale = current_locale();
    let update = ServerAction::<CartUpdate>::new();
    let remove = ServerAction::<CartRemove>::new();
    let checkout = ServerAction::<CartCheckout>::new();
    let query = use_query_map();
    Effect::new(move |_| {
        crate::components::ShellRefresh::to(update.version().get() + remove.version().get());
    });
    let cart = Resource::new(move || (update.version().get(), remove.version().get()), |_| get_cart());
    view! {
            <Title text=t(locale, "cart.title")/>
            <h1 class="page-title">{t(locale, "cart.title")}</h1>
            {move || query.with(|q| q.get("added").is_some()).then(|| view! {
                <p class="alert alert-ok" role="status">{t(locale, "cart.added")}</p>
            })}
            <FormError result=update.value()/>
            <FormError result=remove.value()/>
            <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
                {move || Suspend::new(async move {
                    view! {
                        <ResultView result=cart.await view=move |c| {
                            if c.lines.is_empty() {
                                return view! {
                                    <div class="panel empty" data-testid="cart-empty">
                                        <p>{t(locale, "cart.empty")}</p>
                                        <a class="btn" href="/">{t(locale, "cart.browse")}</a>
                                    </div>
                                }.into_any();
                            }
                            view! {
                                <ul class="cart-lines" data-testid="cart">
                                    {c.lines.into_iter().map(|l| { let (s1, s2) = (l.sku.clone(), l.sku.clone()); view! {
                                        <li class="panel cart-line" data-sku=l.sku.clone()>
                                            <div class="line-head">
                                                <div>
                                                    <a href=format!("/p/{}", l.product_slug)><strong>{l.product.clone()}</strong></a>
                                                    " · "{l.option.clone()}
                                                    <p class="muted small">{l.unit_price.clone()}" · "{t(locale, &format!("kind.{}", l.kind))}</p>
                                                    {l.topup_account.clone().map(|a| view! { <p class="small">{t(locale, "order.topup_to")}" "<code>{a}</code></p> })}
                                                    {(!l.available).then(|| view! { <p class="alert alert-error small">{t(locale, "cart.unavailable")}</p> })}
                                                </div>
                                                <strong class="price">{l.subtotal.clone()}</strong>
                                            </div>
                                            <div class="cart-actions">
                                                <ActionForm action=update attr:class="inline qty-form">
                                                    <input type="hidden" name="sku" value=s1/>
                                                    <label class="small">{t(locale, "product.quantity")}" "
                                                        <input type="number" name="quantity" value=l.quantity.to_string() min="0" max=l.max.to_string() required inputmode="numeric"/>
                                                    </label>
                                                    <button class="btn secondary small" type="submit">{t(locale, "cart.update")}</button>
                                                </ActionForm>
                                                <ActionForm action=remove attr:class="inline">
                                                    <input type="hidden" name="sku" value=s2/>
                                                    <button class="btn secondary small" type="submit" data-testid="cart-remove">{t(locale, "cart.remove")}</button>
                                                </ActionForm>
                                            </div>
                                        </li>
                                    }}).collect_view()}
                                </ul>
                                <section class="panel checkout-panel">
                                    <p class="cart-total">{t(locale, "cart.total")}" "<strong class="price" data-testid="cart-total">{c.total.clone()}</strong></p>
                                    <FormError result=checkout.value()/>
                                    <ActionForm action=checkout attr:class="stack" attr:data-testid="cart-checkout">
    {(!c.signed_in).then(|| view! { <GuestContact/> })}
                                        <button class="btn block" type="submit">{t(locale, "cart.checkout")}</button>
                                    </ActionForm>
                                    <p class="muted small">{t(locale, "product.delivery_note")}</p>
                                </section>
                            }.into_any()
                        }/>
                    }
                })}
            </Suspense>
        }
}

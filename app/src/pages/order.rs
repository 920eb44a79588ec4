use crate::api::{OrderView, PayStripe, PayTest, PayTestFail, PayWallet, ResendDelivery, RevealCodes, get_order};
use crate::components::{FormError, ResultView};
use crate::i18n::{Locale, current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn OrderPage() -> impl IntoView {
    let locale = current_locale();
    let params = use_params_map();
    let pay = ServerAction::<PayTest>::new();
    let fail = ServerAction::<PayTestFail>::new();
    let wallet = ServerAction::<PayWallet>::new();
    let reveal = ServerAction::<RevealCodes>::new();
    let resend = ServerAction::<ResendDelivery>::new();
    let stripe = ServerAction::<PayStripe>::new();
    let query = use_query_map();
    let resent = move || query.with(|q| q.get("resent").is_some()) || resend.value().get().is_some_and(|r| r.is_ok());
    let data = Resource::new(
        move || {
            (
                params.get().get("no").unwrap_or_default(),
                pay.version().get(),
                wallet.version().get(),
                reveal.version().get(),
            )
        },
        |(no, ..)| get_order(no),
    );
    view! {
        <Title text=t(locale, "order.title")/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |o| { let can_resend = o.can_resend; let resend_no = o.order_no.clone(); view! {
                        <OrderBody o=o locale pay fail wallet reveal stripe/>
                        {move || resent().then(|| view! { <p class="alert alert-ok" role="status">{t(locale, "order.resent")}</p> })}
                        <FormError result=resend.value()/>
                        {can_resend.then(|| view! {
                            <ActionForm action=resend attr:class="inline" attr:data-testid="resend-form">
                                <input type="hidden" name="order_no" value=resend_no.clone()/>
                                <button class="btn secondary" type="submit">{t(locale, "order.resend")}</button>
                            </ActionForm>
                        })}
                    }}/>
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderBody(
    o: OrderView,
    locale: Locale,
    pay: ServerAction<PayTest>,
    fail: ServerAction<PayTestFail>,
    wallet: ServerAction<PayWallet>,
    reveal: ServerAction<RevealCodes>,
    stripe: ServerAction<PayStripe>,
) -> impl IntoView {
    let pending = o.awaiting_payment;
    let has_codes = o.lines.iter().any(|l| !l.codes.is_empty());
    let (no1, no2, no3, no4) = (o.order_no.clone(), o.order_no.clone(), o.order_no.clone(), o.order_no.clone());
    let no5 = o.order_no.clone();
    // One press of "pay" is one payment attempt, whatever is replayed.
    let attempt = format!("{}-{}", o.order_no, o.created_at.replace([' ', ':', '-'], ""));
    view! {
        <div class="order" data-testid="order" data-status=o.status.clone()>
            <div class="order-head">
                <h1 class="page-title">{t(locale, "order.title")}</h1>
                <span class=format!("status status-{}", o.status) data-testid="order-status">{t(locale, &format!("status.{}", o.status))}</span>
            </div>
            <p class="muted small">{t(locale, "order.number")}" "<code>{o.order_no.clone()}</code>" · "{o.created_at.clone()}</p>
            {o.lookup_link.clone().map(|link| view! {
                <div class="alert alert-ok" role="status">
                    <p>{t(locale, "order.private_link")}</p>
                    <p><code class="secret" data-testid="lookup-link">{link}</code></p>
                </div>
            })}
            {o.refunded.clone().map(|r| view! {
                <p class="alert alert-error" role="alert">{t(locale, "order.shortfall").replace("%{amount}", &r)}</p>
            })}
            {pending.then(|| view! {
                <section class="panel pay-panel">
                    <h2>{t(locale, "order.pay")}" · "<span class="price">{o.total.clone()}</span></h2>
                    <p class="muted small">{t(locale, "order.held_until").replace("%{time}", &o.reserved_until)}</p>
                    <FormError result=pay.value()/>
                    <FormError result=fail.value()/>
                    <FormError result=wallet.value()/>
                    <FormError result=stripe.value()/>
                    {o.stripe.then(|| view! {
                        <ActionForm action=stripe attr:class="inline">
                            <input type="hidden" name="order_no" value=no5.clone()/>
                            <button class="btn" type="submit" data-testid="pay-stripe">{t(locale, "order.pay_stripe")}</button>
                        </ActionForm>
                    })}
                    {o.is_member.then(|| view! {
                        <ActionForm action=wallet attr:class="inline">
                            <input type="hidden" name="order_no" value=no1.clone()/>
                            <button class="btn" type="submit" data-testid="pay-wallet">
                                {t(locale, "order.pay_wallet")}" ("{o.wallet_balance.clone().unwrap_or_default()}")"
                            </button>
                        </ActionForm>
                    })}
                    {o.test_payments.then(|| view! {
                        <div class="test-pay" data-testid="test-provider">
                            <p class="test-label">{t(locale, "order.test_provider")}</p>
                            <ActionForm action=pay attr:class="inline">
                                <input type="hidden" name="order_no" value=no2.clone()/>
                                <input type="hidden" name="attempt" value=attempt.clone()/>
                                <button class="btn" type="submit" data-testid="pay-test">{t(locale, "order.pay_test")}</button>
                            </ActionForm>
                            <ActionForm action=fail attr:class="inline">
                                <input type="hidden" name="order_no" value=no3.clone()/>
                                <button class="btn secondary" type="submit">{t(locale, "order.fail_test")}</button>
                            </ActionForm>
                        </div>
                    })}
                </section>
            })}
            {o.lines.into_iter().map(|l| view! {
                <section class="panel line">
                    <div class="line-head">
                        <div>
                            <strong>{l.product.clone()}</strong>" · "{l.sku.clone()}
                            <p class="muted small">{l.unit_price.clone()}" × "{l.quantity}</p>
                        </div>
                        <span class="muted small">{t(locale, &format!("kind.{}", l.kind))}</span>
                    </div>
                    {l.topup_account.clone().map(|a| view! { <p class="small">{t(locale, "order.topup_to")}" "<code>{a}</code></p> })}
                    {(!l.codes.is_empty()).then(|| view! {
                        <ul class="codes" data-testid="codes">
                            {l.codes.iter().map(|c| view! {
                                <li class="code">
                                    {match c.plain.clone() {
                                        Some(p) => view! {
                                            <code class="secret" data-testid="code-plain">{p.clone()}</code>
                                            <CopyButton text=p locale/>
                                        }.into_any(),
                                        None => view! { <code data-testid="code-masked">{c.masked.clone()}</code> }.into_any(),
                                    }}
                                    {c.qr_svg.clone().map(|svg| view! {
                                        <figure class="qr" data-testid="code-qr"><div inner_html=svg></div><figcaption class="small muted">{t(locale, "order.qr")}</figcaption></figure>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                    })}
                    {(l.delivered > 0).then(|| view! {
                        <details class="usage" open>
                            <summary>{t(locale, "product.usage")}</summary>
                            <p class="pre small">{l.usage_notes.clone()}</p>
                        </details>
                    })}
                </section>
            }).collect_view()}
            {(has_codes && !o.revealed).then(|| view! {
                <ActionForm action=reveal attr:class="inline">
                    <input type="hidden" name="order_no" value=no4.clone()/>
                    <button class="btn" type="submit" data-testid="reveal">{t(locale, "order.reveal")}</button>
                </ActionForm>
            })}
        </div>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen(
    inline_js = "export function copy_text(t) { if (navigator.clipboard) { navigator.clipboard.writeText(t); } }"
)]
extern "C" {
    fn copy_text(t: &str);
}

/// Copies a code to the clipboard. Shown only once JavaScript runs (hidden in the
/// server-rendered page, so a page without JavaScript shows no dead button).
#[component]
fn CopyButton(text: String, locale: Locale) -> impl IntoView {
    let (ready, set_ready) = signal(false);
    let (copied, set_copied) = signal(false);
    Effect::new(move |_| set_ready.set(true));
    view! {
        <button type="button" class="btn small secondary copy" hidden=move || !ready.get() data-testid="copy"
            on:click=move |_| {
                #[cfg(feature = "hydrate")]
                copy_text(&text);
                #[cfg(not(feature = "hydrate"))]
                let _ = &text;
                set_copied.set(true);
            }>
            {move || if copied.get() { t(locale, "order.copied") } else { t(locale, "order.copy") }}
        </button>
    }
}

use crate::api::{WalletTopUp, get_wallet};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Member wallets: look one up by email, see its ledger, credit it (audit-logged).
#[component]
pub fn Wallets() -> impl IntoView {
    let locale = current_locale();
    let query = use_query_map();
    let top_up = ServerAction::<WalletTopUp>::new();
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    let data = Resource::new(move || (email(), top_up.version().get()), |(e, _)| get_wallet(e));
    view! {
        <Title text=t(locale, "wallets.title")/>
        <h1 class="page-title">{t(locale, "wallets.title")}</h1>
        <form method="get" action="/admin/wallets" class="inline role-form">
            <input type="email" name="email" required placeholder=t(locale, "field.email") value=email/>
            <button class="btn small" type="submit">{t(locale, "nav.search")}</button>
        </form>
        <FormError result=top_up.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |w| match w {
                        None => view! { <p class="muted">{t(locale, "wallets.hint")}</p> }.into_any(),
                        Some(w) => view! {
                            <section class="panel">
                                <h2>{w.email.clone()}" · "<span data-testid="wallet-balance">{w.balance.clone()}</span></h2>
                                <ActionForm action=top_up attr:class="inline role-form" attr:data-testid="top-up-form">
                                    <input type="hidden" name="email" value=w.email.clone()/>
                                    <input type="text" name="amount" required inputmode="decimal" maxlength="12" placeholder="100.00"/>
                                    <input type="text" name="note" maxlength="200" placeholder=t(locale, "wallets.note")/>
                                    <button class="btn small" type="submit">{t(locale, "wallets.top_up")}</button>
                                </ActionForm>
                                <div class="table-wrap">
                                    <table class="table">
                                        <tbody>{w.entries.into_iter().map(|(at, kind, amount, after, note)| view! {
                                            <tr><td class="small">{at}</td><td>{kind}</td><td>{amount}</td><td>{after}</td><td class="small">{note}</td></tr>
                                        }).collect_view()}</tbody>
                                    </table>
                                </div>
                            </section>
                        }.into_any(),
                    }/>
                }
            })}
        </Suspense>
    }
}

use crate::api::{WalletTopUp, get_wallet};
use crate::components::{AsyncView, DataTable, Field, FormError, InlineAction, MoneyField, PageTitle, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
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
        <PageTitle title="wallets.title"/>
        <form method="get" action="/admin/wallets" class="inline role-form">
            <input type="email" name="email" required placeholder=t(locale, "field.email") value=email/>
            <button class="btn small" type="submit">{t(locale, "nav.search")}</button>
        </form>
        <FormError result=top_up.value()/>
        <AsyncView resource=data let:w>
            {match w {
                None => view! { <p class="muted">{t(locale, "wallets.hint")}</p> }.into_any(),
                Some(w) => view! {
                    <Panel>
                        <h2>{w.email.clone()}" · "<span data-testid="wallet-balance">{w.balance.clone()}</span></h2>
                        <InlineAction action=top_up button="wallets.top_up" testid="top-up-form" hidden=vec![("email", w.email)]>
                            <MoneyField name="amount" required=true placeholder="100.00"/>
                            <Field name="note" maxlength=200 placeholder=t(locale, "wallets.note")/>
                        </InlineAction>
                        <DataTable rows=w.entries let((at, kind, amount, after, note))>
                            <tr><td class="small">{at}</td><td>{kind}</td><td>{amount}</td><td>{after}</td><td class="small">{note}</td></tr>
                        </DataTable>
                    </Panel>
                }.into_any(),
            }}
        </AsyncView>
    }
}

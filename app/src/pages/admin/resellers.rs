use crate::api::{CreateReseller, RevokeResellerKey, get_resellers_page};
use crate::components::{
    AsyncView, DataTable, Field, FormError, InlineAction, MoneyField, PageTitle, Panel, encode_component,
};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;

/// Reseller accounts for the JSON API: create one with an opening balance (its key is
/// shown once), see keys and balances, revoke a key. Balances are credited under Wallets.
#[component]
pub fn Resellers() -> impl IntoView {
    let locale = current_locale();
    let create = ServerAction::<CreateReseller>::new();
    let revoke = ServerAction::<RevokeResellerKey>::new();
    let page = Resource::new(move || (create.version().get(), revoke.version().get()), |_| get_resellers_page());
    view! {
        <PageTitle title="resellers.title"/>
        <FormError result=create.value()/>
        <FormError result=revoke.value()/>
        <AsyncView resource=page let:p>
            {p.created.map(|(name, key)| view! {
                <div class="alert alert-ok" role="status" data-testid="reseller-created">
                    <p>{t(locale, "resellers.created").replace("%{name}", &name)}</p>
                    <p><code class="secret" data-testid="api-key">{key}</code></p>
                    <p class="small">{t(locale, "resellers.shown_once")}</p>
                </div>
            })}
            <div class="two-col wide-first">
                <Panel title="resellers.keys" hint="resellers.hint">
                    <DataTable rows=p.keys testid="reseller-table" head=&["resellers.name", "resellers.key", "resellers.balance", "admin.created", ""] let:k>
                        <tr>
                            <td>{k.name}<br/><span class="small muted">{k.account.clone()}</span></td>
                            <td><code>{k.prefix}</code></td>
                            <td class="nowrap"><a href=format!("/admin/wallets?email={}", encode_component(&k.account))>{k.balance}</a></td>
                            <td class="nowrap small muted">{k.created_at}</td>
                            <td>{if k.revoked {
                                view! { <span class="tag">{t(locale, "resellers.revoked")}</span> }.into_any()
                            } else {
                                view! { <InlineAction action=revoke button="resellers.revoke" secondary=true hidden=vec![("key_id", k.key_id.to_string())]/> }.into_any()
                            }}</td>
                        </tr>
                    </DataTable>
                </Panel>
                <Panel title="resellers.add">
                    <ActionForm action=create attr:class="form" attr:data-testid="create-reseller-form">
                        <Field label="resellers.name" name="name" required=true maxlength=80/>
                        <MoneyField label="resellers.opening_balance" name="balance" placeholder="1000.00"/>
                        <button class="btn" type="submit">{t(locale, "resellers.create")}</button>
                    </ActionForm>
                </Panel>
            </div>
        </AsyncView>
    }
}

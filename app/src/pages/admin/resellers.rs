use crate::api::{CreateReseller, RevokeResellerKey, get_resellers_page};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

/// Reseller accounts for the JSON API: create one with an opening balance (its key is
/// shown once), see keys and balances, revoke a key. Balances are credited under Wallets.
#[component]
pub fn Resellers() -> impl IntoView {
    let locale = current_locale();
    let create = ServerAction::<CreateReseller>::new();
    let revoke = ServerAction::<RevokeResellerKey>::new();
    let page = Resource::new(move || (create.version().get(), revoke.version().get()), |_| get_resellers_page());
    view! {
        <Title text=t(locale, "resellers.title")/>
        <h1 class="page-title">{t(locale, "resellers.title")}</h1>
        <FormError result=create.value()/>
        <FormError result=revoke.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=page.await view=move |p| view! {
                        {p.created.map(|(name, key)| view! {
                            <div class="alert alert-ok" role="status" data-testid="reseller-created">
                                <p>{t(locale, "resellers.created").replace("%{name}", &name)}</p>
                                <p><code class="secret" data-testid="api-key">{key}</code></p>
                                <p class="small">{t(locale, "resellers.shown_once")}</p>
                            </div>
                        })}
                        <div class="two-col wide-first">
                            <section class="panel">
                                <h2>{t(locale, "resellers.keys")}</h2>
                                <p class="small muted">{t(locale, "resellers.hint")}</p>
                                <div class="table-wrap">
                                    <table class="table" data-testid="reseller-table">
                                        <thead><tr>
                                            <th>{t(locale, "resellers.name")}</th>
                                            <th>{t(locale, "resellers.key")}</th>
                                            <th>{t(locale, "resellers.balance")}</th>
                                            <th>{t(locale, "admin.created")}</th>
                                            <th></th>
                                        </tr></thead>
                                        <tbody>
                                            {p.keys.into_iter().map(|k| view! {
                                                <tr>
                                                    <td>{k.name}<br/><span class="small muted">{k.account.clone()}</span></td>
                                                    <td><code>{k.prefix}</code></td>
                                                    <td class="nowrap"><a href=format!("/admin/wallets?email={}", crate::components::encode_component(&k.account))>{k.balance}</a></td>
                                                    <td class="nowrap small muted">{k.created_at}</td>
                                                    <td>{if k.revoked {
                                                        view! { <span class="tag">{t(locale, "resellers.revoked")}</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <ActionForm action=revoke attr:class="inline">
                                                                <input type="hidden" name="key_id" value=k.key_id/>
                                                                <button class="btn small secondary" type="submit">{t(locale, "resellers.revoke")}</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    }}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "resellers.add")}</h2>
                                <ActionForm action=create attr:class="form" attr:data-testid="create-reseller-form">
                                    <label>{t(locale, "resellers.name")}
                                        <input type="text" name="name" required maxlength="80"/>
                                    </label>
                                    <label>{t(locale, "resellers.opening_balance")}
                                        <input type="text" name="balance" inputmode="decimal" maxlength="12" placeholder="1000.00"/>
                                    </label>
                                    <button class="btn" type="submit">{t(locale, "resellers.create")}</button>
                                </ActionForm>
                            </section>
                        </div>
                    }/>
                }
            })}
        </Suspense>
    }
}

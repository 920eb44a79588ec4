use crate::api::{AuditRow, get_audit_log};
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditTable(rows: Vec<AuditRow>) -> impl IntoView {
    let locale = current_locale();
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead><tr>
                    <th>{t(locale, "audit.at")}</th>
                    <th>{t(locale, "audit.actor")}</th>
                    <th>{t(locale, "audit.action")}</th>
                    <th>{t(locale, "audit.target")}</th>
                    <th>{t(locale, "audit.detail")}</th>
                    <th>{t(locale, "audit.ip")}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td class="nowrap">{r.at}</td>
                            <td>{r.actor}</td>
                            <td><code>{r.action}</code></td>
                            <td>{r.target}</td>
                            <td>{r.detail}</td>
                            <td class="nowrap">{r.ip}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let locale = current_locale();
    let rows = Resource::new(|| (), |_| get_audit_log());
    view! {
        <Title text=t(locale, "admin.audit")/>
        <h1 class="page-title">{t(locale, "admin.audit")}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! { <ResultView result=rows.await view=|rows| view! { <AuditTable rows/> }/> }
            })}
        </Suspense>
    }
}

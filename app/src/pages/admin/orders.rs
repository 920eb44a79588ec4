use crate::api::{ORDER_STATUSES, get_admin_orders};
use crate::components::{AsyncView, DataTable, PageTitle, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Orders() -> impl IntoView {
    let locale = current_locale();
    let query = use_query_map();
    let filter = move || {
        let q = query.get();
        let get = |k: &str| q.get(k).filter(|s| !s.is_empty());
        (get("status"), get("q"), get("sku"), get("from"), get("to"))
    };
    let rows = Resource::new(filter, |(status, q, sku, from, to)| get_admin_orders(status, q, sku, from, to));
    view! {
        <PageTitle title="admin.orders"/>
        <form class="filters panel" method="get" action="/admin/orders">
            <select name="status" aria-label=t(locale, "admin.order_status")>
                <option value="">{t(locale, "admin.all_statuses")}</option>
                {move || {
                    let current = filter().0.unwrap_or_default();
                    ORDER_STATUSES.iter().map(|s| view! {
                        <option value=*s selected=current == *s>{t(locale, &format!("status.{s}"))}</option>
                    }).collect_view()
                }}
            </select>
            <input type="search" name="q" value=move || filter().1.unwrap_or_default() placeholder=t(locale, "admin.order_search")/>
            <input type="text" name="sku" maxlength="40" value=move || filter().2.unwrap_or_default() placeholder="SKU" aria-label="SKU"/>
            <label class="small">{t(locale, "admin.from")}" "<input type="date" name="from" value=move || filter().3.unwrap_or_default()/></label>
            <label class="small">{t(locale, "admin.to")}" "<input type="date" name="to" value=move || filter().4.unwrap_or_default()/></label>
            <button class="btn" type="submit">{t(locale, "nav.search")}</button>
        </form>
        <AsyncView resource=rows let:rows>
            <Panel>
                <DataTable rows testid="orders-table" head=&["order.number", "admin.order_status", "admin.contact", "admin.total", "audit.at"] let:r>
                    <tr>
                        <td><a href=format!("/admin/orders/{}", r.order_no)><code>{r.order_no.clone()}</code></a></td>
                        <td><span class=format!("status status-{}", r.status)>{t(locale, &format!("status.{}", r.status))}</span></td>
                        <td>{r.contact}</td>
                        <td class="nowrap">{r.total}</td>
                        <td class="nowrap muted small">{r.created_at}" · "{r.channel}</td>
                    </tr>
                </DataTable>
            </Panel>
        </AsyncView>
    }
}

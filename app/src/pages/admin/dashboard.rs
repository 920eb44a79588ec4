use super::AuditTable;
use crate::api::get_dashboard;
use crate::components::{AsyncView, PageTitle, Panel};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    let locale = current_locale();
    let data = Resource::new(|| (), |_| get_dashboard());
    let stat = move |key: &str, value: u64, id: &'static str| {
        view! {
            <div class="stat" data-testid=id>
                <span class="stat-value">{value}</span>
                <span class="stat-label">{t(locale, key)}</span>
            </div>
        }
    };
    view! {
        <PageTitle title="admin.dashboard"/>
        <AsyncView resource=data let:d>
            <div class="stats">
                {stat("admin.stat_users", d.users, "stat-users")}
                {stat("admin.stat_customers", d.customers, "stat-customers")}
                {stat("admin.stat_staff", d.staff, "stat-staff")}
                {stat("admin.stat_categories", d.categories, "stat-categories")}
                {stat("admin.stat_products", d.products_on_shelf, "stat-products")}
                {stat("admin.stat_skus", d.skus, "stat-skus")}
            </div>
            {(!d.recent.is_empty()).then(|| view! {
                <Panel title="admin.recent_activity">
                    <AuditTable rows=d.recent/>
                </Panel>
            })}
        </AsyncView>
    }
}

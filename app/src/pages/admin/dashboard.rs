use super::AuditTable;
use crate::api::get_dashboard;
use crate::components::ResultView;
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    let locale = current_locale();
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <Title text=t(locale, "admin.dashboard")/>
        <h1 class="page-title">{t(locale, "admin.dashboard")}</h1>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=data.await view=move |d| {
                        let stat = move |key: &str, value: u64, id: &'static str| view! {
                            <div class="stat" data-testid=id>
                                <span class="stat-value">{value}</span>
                                <span class="stat-label">{t(locale, key)}</span>
                            </div>
                        };
                        let recent = d.recent.clone();
                        view! {
                            <div class="stats">
                                {stat("admin.stat_users", d.users, "stat-users")}
                                {stat("admin.stat_customers", d.customers, "stat-customers")}
                                {stat("admin.stat_staff", d.staff, "stat-staff")}
                                {stat("admin.stat_categories", d.categories, "stat-categories")}
                                {stat("admin.stat_products", d.products_on_shelf, "stat-products")}
                                {stat("admin.stat_skus", d.skus, "stat-skus")}
                            </div>
                            {(!recent.is_empty()).then(|| view! {
                                <section class="panel">
                                    <h2>{t(locale, "admin.recent_activity")}</h2>
                                    <AuditTable rows=recent/>
                                </section>
                            })}
                        }
                    }/>
                }
            })}
        </Suspense>
    }
}

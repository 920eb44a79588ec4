//! The document shell and the route table. Every route renders fully on the server
//! (`SsrMode::Async`) so pages read the same with JavaScript off. The admin's routes and
//! the mall's rarely opened pages are lazy: their code is fetched when first opened.
use crate::components::MallLayout;
use crate::i18n::current_locale;
use crate::pages::{admin, *};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = current_locale().tag();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"/>
                <meta name="theme-color" content="#e8453c"/>
                <meta name="format-detection" content="telephone=no"/>
                <link rel="stylesheet" href="/pkg/quanyi.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(current_locale());
    view! {
        <Title formatter=|t: String| if t.is_empty() { "权益商城 · Quanyi".to_string() } else { format!("{t} · Quanyi") }/>
        <Router>
            <Routes fallback=NotFound>
                <ParentRoute path=path!("/admin") view={Lazy::<admin::AdminShell>::new()} ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<admin::DashboardRoute>::new()}/>
                    <Route path=path!("staff") view={Lazy::<admin::StaffRoute>::new()}/>
                    <Route path=path!("inventory") view={Lazy::<admin::InventoryRoute>::new()}/>
                    <Route path=path!("orders") view={Lazy::<admin::OrdersRoute>::new()}/>
                    <Route path=path!("orders/:no") view={Lazy::<admin::OrderDetailRoute>::new()}/>
                    <Route path=path!("audit") view={Lazy::<admin::AuditRoute>::new()}/>
                    <Route path=path!("topups") view={Lazy::<admin::TopupsRoute>::new()}/>
                    <Route path=path!("wallets") view={Lazy::<admin::WalletsRoute>::new()}/>
                    <Route path=path!("resellers") view={Lazy::<admin::ResellersRoute>::new()}/>
                    <Route path=path!("catalog") view={Lazy::<admin::CatalogRoute>::new()}/>
                    <Route path=path!("catalog/new") view={Lazy::<admin::ProductEditRoute>::new()}/>
                    <Route path=path!("catalog/:slug") view={Lazy::<admin::ProductEditRoute>::new()}/>
                    <Route path=path!("batches") view={Lazy::<admin::BatchesRoute>::new()}/>
                    <Route path=path!("batches/:id") view={Lazy::<admin::BatchRoute>::new()}/>
                    <Route path=path!("outbox") view={Lazy::<admin::OutboxRoute>::new()}/>
                </ParentRoute>
                <ParentRoute path=path!("") view=MallLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("c/:slug") view=CategoryPage/>
                    <Route path=path!("p/:slug") view=ProductPage/>
                    <Route path=path!("search") view=Search/>
                    <Route path=path!("login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=path!("register") view={Lazy::<RegisterRoute>::new()}/>
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()}/>
                    <Route path=path!("orders") view={Lazy::<MyOrdersRoute>::new()}/>
                    <Route path=path!("cart") view=CartPage/>
                    <Route path=path!("messages") view={Lazy::<MessagesRoute>::new()}/>
                    <Route path=path!("find-order") view={Lazy::<FindOrderRoute>::new()}/>
                    <Route path=path!("orders/:no") view=OrderPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

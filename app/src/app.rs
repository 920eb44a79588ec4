//! The document shell and the route table. Every route renders fully on the server
//! (`SsrMode::Async`) so pages read the same with JavaScript off.
use crate::components::{AdminLayout, MallLayout};
use crate::i18n::current_locale;
use crate::pages::{admin, *};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
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
                <ParentRoute path=path!("/admin") view=AdminLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=admin::Dashboard/>
                    <Route path=path!("staff") view=admin::Staff/>
                    <Route path=path!("inventory") view=admin::Inventory/>
                    <Route path=path!("orders") view=admin::Orders/>
                    <Route path=path!("orders/:no") view=admin::OrderDetail/>
                    <Route path=path!("audit") view=admin::Audit/>
                    <Route path=path!("topups") view=admin::Topups/>
                    <Route path=path!("wallets") view=admin::Wallets/>
                    <Route path=path!("resellers") view=admin::Resellers/>
                    <Route path=path!("catalog") view=admin::CatalogAdmin/>
                    <Route path=path!("catalog/new") view=admin::ProductEdit/>
                    <Route path=path!("catalog/:slug") view=admin::ProductEdit/>
                    <Route path=path!("batches") view=admin::Batches/>
                    <Route path=path!("batches/:id") view=admin::BatchPage/>
                    <Route path=path!("outbox") view=admin::Outbox/>
                </ParentRoute>
                <ParentRoute path=path!("") view=MallLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=Home/>
                    <Route path=path!("c/:slug") view=CategoryPage/>
                    <Route path=path!("p/:slug") view=ProductPage/>
                    <Route path=path!("search") view=Search/>
                    <Route path=path!("login") view=Login/>
                    <Route path=path!("register") view=Register/>
                    <Route path=path!("account") view=Account/>
                    <Route path=path!("orders") view=MyOrders/>
                    <Route path=path!("cart") view=CartPage/>
                    <Route path=path!("messages") view=Messages/>
                    <Route path=path!("find-order") view=FindOrder/>
                    <Route path=path!("orders/:no") view=OrderPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

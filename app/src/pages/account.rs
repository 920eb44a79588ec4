use crate::api::{ChangePassword, Logout, get_me};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Account() -> impl IntoView {
    let locale = current_locale();
    let me = Resource::new(|| (), |_| get_me());
    let logout = expect_context::<ServerAction<Logout>>();
    let change = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let notice = move || {
        let q = query.get();
        if q.get("welcome").is_some() {
            Some(t(locale, "account.welcome"))
        } else if q.get("changed").is_some() {
            Some(t(locale, "account.password_changed"))
        } else {
            None
        }
    };
    view! {
        <Title text=t(locale, "account.title")/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                let me = me.await;
                view! {
                    <ResultView result=me view=move |me| view! {
                        <h1 class="page-title">{t(locale, "account.title")}</h1>
                        {move || notice().map(|n| view! { <p class="alert alert-ok" role="status">{n}</p> })}
                        <div class="two-col">
                            <section class="panel">
                                <h2>{t(locale, "account.profile")}</h2>
                                <dl class="facts">
                                    <dt>{t(locale, "field.email")}</dt><dd data-testid="account-email">{me.email.clone()}</dd>
                                    <dt>{t(locale, "field.display_name")}</dt><dd>{me.display_name.clone().unwrap_or_else(|| "—".into())}</dd>
                                    <dt>{t(locale, "field.role")}</dt><dd>{t(locale, &format!("role.{}", me.role))}</dd>
                                </dl>
                                <a class="btn" href="/orders">{t(locale, "order.mine")}</a>
                                <a class="btn secondary" href="/messages" data-testid="messages-link">{t(locale, "messages.title")}</a>
                                {me.is_staff.then(|| view! { <a class="btn secondary" href="/admin" rel="external">{t(locale, "nav.admin")}</a> })}
                                <ActionForm action=logout attr:class="inline" attr:data-testid="logout-form">
                                    <button class="btn secondary" type="submit">{t(locale, "nav.logout")}</button>
                                </ActionForm>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "account.change_password")}</h2>
                                <FormError result=change.value()/>
                                <ActionForm action=change attr:class="form">
                                    <label>{t(locale, "field.current_password")}
                                        <input type="password" name="current" required autocomplete="current-password" maxlength="128"/>
                                    </label>
                                    <label>{t(locale, "field.new_password")}
                                        <input type="password" name="new_password" required autocomplete="new-password" minlength="10" maxlength="128"/>
                                    </label>
                                    <label>{t(locale, "field.confirm")}
                                        <input type="password" name="confirm" required autocomplete="new-password" minlength="10" maxlength="128"/>
                                    </label>
                                    <button class="btn" type="submit">{t(locale, "account.change_password")}</button>
                                </ActionForm>
                            </section>
                        </div>
                    }/>
                }
            })}
        </Suspense>
    }
}

use crate::api::{CreateStaff, SetStaffRole, get_staff_page};
use crate::components::{FormError, ResultView};
use crate::i18n::{current_locale, t};
use leptos::prelude::*;
use leptos_meta::Title;

const STAFF_ROLES: [&str; 4] = ["operator", "finance", "support", "owner"];

#[component]
pub fn Staff() -> impl IntoView {
    let locale = current_locale();
    let create = ServerAction::<CreateStaff>::new();
    let set_role = ServerAction::<SetStaffRole>::new();
    let page = Resource::new(move || (create.version().get(), set_role.version().get()), |_| get_staff_page());
    let role_options = move |selected: &str| {
        STAFF_ROLES
            .iter()
            .map(|r| view! { <option value=*r selected=*r == selected>{t(locale, &format!("role.{r}"))}</option> })
            .collect_view()
    };
    view! {
        <Title text=t(locale, "admin.staff")/>
        <h1 class="page-title">{t(locale, "admin.staff")}</h1>
        <FormError result=create.value()/>
        <FormError result=set_role.value()/>
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || Suspend::new(async move {
                view! {
                    <ResultView result=page.await view=move |p| view! {
                        {p.created.map(|(email, password)| view! {
                            <div class="alert alert-ok" role="status" data-testid="staff-created">
                                <p>{t(locale, "staff.created").replace("%{email}", &email)}</p>
                                {password.map(|pw| view! {
                                    <p>{t(locale, "staff.generated_password")}" "<code class="secret" data-testid="generated-password">{pw}</code></p>
                                    <p class="small">{t(locale, "staff.shown_once")}</p>
                                })}
                            </div>
                        })}
                        <div class="two-col wide-first">
                            <section class="panel">
                                <h2>{t(locale, "staff.list")}</h2>
                                <div class="table-wrap">
                                    <table class="table" data-testid="staff-table">
                                        <thead><tr>
                                            <th>{t(locale, "field.email")}</th>
                                            <th>{t(locale, "field.role")}</th>
                                            <th>{t(locale, "staff.last_login")}</th>
                                        </tr></thead>
                                        <tbody>
                                            {p.staff.into_iter().map(|s| view! {
                                                <tr>
                                                    <td>{s.email.clone()}{s.is_self.then(|| view! { " " <span class="tag">{t(locale, "staff.you")}</span> })}</td>
                                                    <td>
                                                        <ActionForm action=set_role attr:class="inline role-form">
                                                            <input type="hidden" name="user_id" value=s.id/>
                                                            <select name="role" aria-label=t(locale, "field.role")>{role_options(&s.role)}</select>
                                                            <button class="btn small secondary" type="submit">{t(locale, "common.save")}</button>
                                                        </ActionForm>
                                                    </td>
                                                    <td class="nowrap muted small">{s.last_login}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                            <section class="panel">
                                <h2>{t(locale, "staff.add")}</h2>
                                <ActionForm action=create attr:class="form" attr:data-testid="create-staff-form">
                                    <label>{t(locale, "field.email")}
                                        <input type="email" name="email" required maxlength="254"/>
                                    </label>
                                    <label>{t(locale, "field.role")}
                                        <select name="role">{role_options("operator")}</select>
                                    </label>
                                    <label>{t(locale, "field.password")}" "<span class="muted small">{t(locale, "staff.password_optional")}</span>
                                        <input type="password" name="password" autocomplete="new-password" maxlength="128"/>
                                    </label>
                                    <button class="btn" type="submit">{t(locale, "staff.create")}</button>
                                </ActionForm>
                            </section>
                        </div>
                    }/>
                }
            })}
        </Suspense>
    }
}

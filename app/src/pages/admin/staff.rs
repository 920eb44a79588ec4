use crate::api::{CreateStaff, SetStaffRole, get_staff_page};
use crate::components::{AsyncView, DataTable, Field, FormError, InlineAction, PageTitle, Panel, SelectField};
use crate::i18n::{Locale, current_locale, t};
use leptos::prelude::*;

const STAFF_ROLES: [&str; 4] = ["operator", "finance", "support", "owner"];

fn role_options(locale: Locale) -> Vec<(String, String)> {
    STAFF_ROLES.iter().map(|r| (r.to_string(), t(locale, &format!("role.{r}")))).collect()
}

#[component]
pub fn Staff() -> impl IntoView {
    let locale = current_locale();
    let create = ServerAction::<CreateStaff>::new();
    let set_role = ServerAction::<SetStaffRole>::new();
    let page = Resource::new(move || (create.version().get(), set_role.version().get()), |_| get_staff_page());
    view! {
        <PageTitle title="admin.staff"/>
        <FormError result=create.value()/>
        <FormError result=set_role.value()/>
        <AsyncView resource=page let:p>
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
                <Panel title="staff.list">
                    <DataTable rows=p.staff testid="staff-table" head=&["field.email", "field.role", "staff.last_login"] let:s>
                        <tr>
                            <td>{s.email.clone()}{s.is_self.then(|| view! { " " <span class="tag">{t(locale, "staff.you")}</span> })}</td>
                            <td>
                                <InlineAction action=set_role button="common.save" secondary=true hidden=vec![("user_id", s.id.to_string())]>
                                    <SelectField name="role" label="field.role" inline=true options=role_options(locale) selected=s.role.clone()/>
                                </InlineAction>
                            </td>
                            <td class="nowrap muted small">{s.last_login}</td>
                        </tr>
                    </DataTable>
                </Panel>
                <Panel title="staff.add">
                    <ActionForm action=create attr:class="form" attr:data-testid="create-staff-form">
                        <Field label="field.email" name="email" kind="email" required=true maxlength=254/>
                        <SelectField label="field.role" name="role" options=role_options(locale) selected="operator"/>
                        <Field label="field.password" note="staff.password_optional" name="password" kind="password"
                            autocomplete="new-password" maxlength=128/>
                        <button class="btn" type="submit">{t(locale, "staff.create")}</button>
                    </ActionForm>
                </Panel>
            </div>
        </AsyncView>
    }
}

use crate::error::AppError;
use crate::i18n::{current_locale, error_text};
use leptos::prelude::*;

/// The translated error of the last submission of a form, if it failed.
#[component]
pub fn FormError<T: Clone + Send + Sync + 'static>(
    #[prop(into)] result: Signal<Option<Result<T, AppError>>>,
) -> impl IntoView {
    let locale = current_locale();
    move || {
        result.get().and_then(Result::err).map(|e| {
            view! { <p class="alert alert-error" role="alert">{error_text(locale, &e)}</p> }
        })
    }
}

/// Renders a loaded result, or its error as a friendly panel.
#[component]
pub fn ResultView<T, V, F>(result: Result<T, AppError>, view: F) -> impl IntoView
where
    F: FnOnce(T) -> V,
    V: IntoView + 'static,
{
    let locale = current_locale();
    match result {
        Ok(v) => view(v).into_any(),
        Err(e) => {
            let login = matches!(&e, AppError::Coded { code, .. } if code == "login_required");
            view! {
                <div class="panel empty">
                    <p class="alert alert-error" role="alert">{error_text(locale, &e)}</p>
                    {login.then(|| view! { <a class="btn" href="/login">{crate::i18n::t(locale, "nav.login")}</a> })}
                </div>
            }
            .into_any()
        }
    }
}

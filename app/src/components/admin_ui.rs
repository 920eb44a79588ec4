//! The admin's building blocks, so that a page is its data and its words:
//!
//! - [`PageTitle`]: the tab's title and the page's `<h1>` (with actions beside it).
//! - [`AsyncView`]: a resource loaded in one `<Suspense>`, its error shown as a panel.
//! - [`Panel`]: a `<section class="panel">` with an optional heading and hint.
//! - [`DataTable`]: a scrolling table with headings, one row a record, an empty state.
//! - [`Field`], [`MoneyField`], [`SelectField`], [`CheckField`]: labelled form controls.
//! - [`InlineAction`]: a one-button form for a row (retry, revoke, approve…), with hidden fields.
//!
//! Every text given to them is a translation key; one without a dot ("SKU", "#") is shown as
//! written. Placeholders and values are shown as given. Forms stay plain HTML forms, so every
//! page works without JavaScript.
use super::ResultView;
use crate::error::AppError;
use crate::i18n::{Locale, current_locale, t};
use leptos::prelude::*;
use leptos::server_fn::{Http, ServerFn, client::Client, codec::PostUrl, request::ClientReq};
use leptos_meta::Title;
use serde::de::DeserializeOwned;

/// What a person typed as an amount: digits, at most four decimals (the server checks again).
pub const MONEY_PATTERN: &str = r"\s*\d+(\.\d{1,4})?\s*";

/// A translation key's text; a key without a dot is text already ("SKU", "#", "").
fn text(locale: Locale, key: &str) -> String {
    if key.contains('.') { t(locale, key) } else { key.to_owned() }
}

/// The tab's title and the page's heading; children (a button, a status) go beside it.
#[component]
pub fn PageTitle(
    /// Translation key of the title.
    title: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let locale = current_locale();
    let heading = view! { <h1 class="page-title">{text(locale, title)}</h1> };
    view! {
        <Title text=text(locale, title)/>
        {match children {
            Some(beside) => view! { <div class="order-head">{heading}{beside()}</div> }.into_any(),
            None => heading.into_any(),
        }}
    }
}

/// Loads `resource` in one `<Suspense>` and renders it with the children (`let:data`), or
/// its error as a panel (with a login button when that is the trouble).
#[component]
pub fn AsyncView<T, V, F>(resource: Resource<Result<T, AppError>>, children: F) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let locale = current_locale();
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t(locale, "common.loading")}</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move { view! { <ResultView result=resource.await view=children/> } })
            }}
        </Suspense>
    }
}

/// A white card: `<section class="panel">`, with a heading and a muted hint when given.
/// Attributes (`attr:data-testid=…`) land on the section.
#[component]
pub fn Panel(
    /// Translation key of the `<h2>`.
    #[prop(optional)]
    title: Option<&'static str>,
    /// Translation key of a muted line under the heading.
    #[prop(optional)]
    hint: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let locale = current_locale();
    view! {
        <section class="panel">
            {title.map(|k| view! { <h2>{text(locale, k)}</h2> })}
            {hint.map(|k| view! { <p class="muted small">{t(locale, k)}</p> })}
            {children()}
        </section>
    }
}

/// A table that scrolls sideways on a phone: headings, then one row (`let:row`, a `<tr>`)
/// a record. With `empty`, no records show that text instead of an empty table.
#[component]
pub fn DataTable<R, V, F>(
    /// The records, in order.
    rows: Vec<R>,
    /// Column headings, translation keys; none: no heading row.
    #[prop(optional)]
    head: &'static [&'static str],
    /// The table's `data-testid` (and, with `-empty`, its empty state's).
    #[prop(optional)]
    testid: Option<&'static str>,
    /// Translation key of what to say when there are no records.
    #[prop(optional)]
    empty: Option<&'static str>,
    children: F,
) -> impl IntoView
where
    R: 'static,
    F: Fn(R) -> V + 'static,
    V: IntoView + 'static,
{
    let locale = current_locale();
    if rows.is_empty()
        && let Some(key) = empty
    {
        let testid = testid.map(|id| format!("{id}-empty"));
        return view! { <p class="muted empty-state" data-testid=testid>{t(locale, key)}</p> }.into_any();
    }
    let head = (!head.is_empty()).then(|| {
        view! { <thead><tr>{head.iter().map(|k| view! { <th>{text(locale, k)}</th> }).collect_view()}</tr></thead> }
    });
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=testid>
                {head}
                <tbody>{rows.into_iter().map(children).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A control inside its `<label>`, or alone (`inline`), then named by `aria-label`: the
/// control is built given that name.
fn labelled<V: IntoView + 'static>(
    label: Option<&'static str>,
    note: Option<&'static str>,
    inline: bool,
    control: impl FnOnce(Option<String>) -> V,
) -> AnyView {
    let locale = current_locale();
    match label.map(|k| text(locale, k)) {
        Some(shown) if !inline => view! {
            <label>
                {shown}
                {note.map(|n| view! { " "<span class="muted small">{t(locale, n)}</span> })}
                {control(None)}
            </label>
        }
        .into_any(),
        aria => control(aria).into_any(),
    }
}

/// A labelled `<input>` (or `<textarea>` with `rows`).
#[component]
pub fn Field(
    /// The form field's name.
    name: &'static str,
    /// Translation key of the label.
    #[prop(optional)]
    label: Option<&'static str>,
    /// Translation key of a muted remark after the label ("optional").
    #[prop(optional)]
    note: Option<&'static str>,
    /// No `<label>` around it: the label becomes its `aria-label` (for a form in a table row).
    #[prop(optional)]
    inline: bool,
    /// The input's type: text (the default), email, password, number, date, color, file…
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] readonly: bool,
    #[prop(optional)] maxlength: Option<u32>,
    #[prop(optional)] pattern: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] min: Option<i64>,
    #[prop(optional)] max: Option<i64>,
    /// For `kind="file"`: the types offered.
    #[prop(optional)]
    accept: Option<&'static str>,
    /// A `<textarea>` this many rows high instead of an `<input>`.
    #[prop(optional)]
    rows: Option<u32>,
) -> impl IntoView {
    let maxlength = maxlength.map(|m| m.to_string());
    labelled(label, note, inline, move |aria| match rows {
        Some(rows) => view! {
            <textarea name=name rows=rows.to_string() required=required readonly=readonly maxlength=maxlength
                placeholder=placeholder aria-label=aria>{value}</textarea>
        }
        .into_any(),
        None => view! {
            <input type=kind name=name value=value placeholder=placeholder required=required readonly=readonly
                maxlength=maxlength pattern=pattern inputmode=inputmode autocomplete=autocomplete
                min=min.map(|m| m.to_string()) max=max.map(|m| m.to_string()) accept=accept aria-label=aria/>
        }
        .into_any(),
    })
}

/// A labelled amount: a text input with the decimal keypad on phones, a length limit and
/// the amount pattern (digits, up to four decimals), so a typo is caught before posting.
#[component]
pub fn MoneyField(
    name: &'static str,
    /// Translation key of the label.
    #[prop(optional)]
    label: Option<&'static str>,
    /// No `<label>` around it: the label becomes its `aria-label`.
    #[prop(optional)]
    inline: bool,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(default = 12)] maxlength: u32,
) -> impl IntoView {
    labelled(label, None, inline, move |aria| {
        view! {
            <input type="text" name=name value=value placeholder=placeholder required=required inputmode="decimal"
                maxlength=maxlength.to_string() pattern=MONEY_PATTERN aria-label=aria/>
        }
    })
}

/// A labelled `<select>` of (value, text) options, texts shown as given.
#[component]
pub fn SelectField(
    name: &'static str,
    /// Translation key of the label.
    #[prop(optional)]
    label: Option<&'static str>,
    /// No `<label>` around it: the label becomes its `aria-label`.
    #[prop(optional)]
    inline: bool,
    options: Vec<(String, String)>,
    /// The value chosen at first.
    #[prop(optional, into)]
    selected: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    labelled(label, None, inline, move |aria| {
        view! {
            <select name=name required=required aria-label=aria>
                {options.into_iter().map(|(value, shown)| {
                    let chosen = selected.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=chosen>{shown}</option> }
                }).collect_view()}
            </select>
        }
    })
}

/// A checkbox with its text after it; posts `on` when ticked.
#[component]
pub fn CheckField(
    name: &'static str,
    /// Translation key of the text.
    label: &'static str,
    #[prop(optional)] checked: bool,
) -> impl IntoView {
    let locale = current_locale();
    view! { <label class="check"><input type="checkbox" name=name value="on" checked=checked/>" "{text(locale, label)}</label> }
}

/// A small form with one button for a row: hidden fields say what it acts on, children
/// (a reason, a role) come before the button. Its errors show where the page puts the
/// action's `<FormError/>`.
#[component]
pub fn InlineAction<A, O>(
    action: ServerAction<A>,
    /// Translation key of the button.
    button: &'static str,
    /// (name, value) of the hidden fields.
    #[prop(optional)]
    hidden: Vec<(&'static str, String)>,
    /// A quiet (grey) button, for the less usual or the undoing choice.
    #[prop(optional)]
    secondary: bool,
    /// The form's `data-testid`.
    #[prop(optional)]
    testid: Option<&'static str>,
    /// The button's `data-testid`.
    #[prop(optional)]
    button_testid: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView
where
    A: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, O>> + Clone + Send + Sync + 'static,
    <<A::Client as Client<A::Error>>::Request as ClientReq<A::Error>>::FormData: From<leptos::web_sys::FormData>,
    A::Output: Send + Sync + 'static,
    A::Error: Send + Sync + 'static,
    A::Client: Client<A::Error>,
{
    let locale = current_locale();
    let class = if children.is_some() { "inline role-form" } else { "inline" };
    let button_class = if secondary { "btn small secondary" } else { "btn small" };
    view! {
        <ActionForm action attr:class=class attr:data-testid=testid>
            {hidden.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            {children.map(|c| c())}
            <button class=button_class type="submit" data-testid=button_testid>{t(locale, button)}</button>
        </ActionForm>
    }
}

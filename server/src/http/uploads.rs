//! File uploads from the admin, as plain multipart forms (they work without JavaScript):
//! code files (imported in the background with a progress page), catalog CSV files, and
//! product images (stored under `<data_dir>/images/` by content hash and served from
//! `/media/` with a year of caching, since a new image gets a new name).
//!
//! These routes accept bodies up to `max_upload_bytes`; everything else keeps the small
//! form limit. Errors come back to the form's page as `?error=<code>`.
use super::AppState;
use axum::{
    Router,
    extract::{Multipart, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use quanyi::{Shop, identity::Role};
use sha2::{Digest, Sha256};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};
use tower_sessions::Session;

pub const UPLOAD_PREFIX: &str = "/admin/upload/";
pub const CATALOG_REPORT: &str = "catalog_report";

pub fn routes(shop: &Shop) -> Router<AppState> {
    let media = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .service(ServeDir::new(shop.config.data_dir.join("images")));
    Router::new()
        .route("/admin/upload/codes", post(upload_codes))
        .route("/admin/upload/catalog", post(upload_catalog))
        .route("/admin/upload/image", post(upload_image))
        .layer(axum::extract::DefaultBodyLimit::max(shop.config.max_upload_bytes))
        .nest_service("/media", media)
}

/// The staff member behind the request, if their role may do this.
async fn staff(shop: &Shop, session: &Session, roles: &[Role]) -> Option<quanyi::identity::User> {
    let user = app::ssr::user_from_session(shop, session).await.ok().flatten()?;
    roles.contains(&quanyi::identity::role_of(&user)).then_some(user)
}

fn back(page: &str, error: &str) -> Response {
    let sep = if page.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page}{sep}error={error}")).into_response()
}

/// Every field of the form; files are kept as bytes.
async fn fields(mut form: Multipart) -> Result<std::collections::HashMap<String, Vec<u8>>, ()> {
    let mut out = std::collections::HashMap::new();
    while let Some(field) = form.next_field().await.map_err(|_| ())? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|_| ())?;
        out.insert(name, bytes.to_vec());
    }
    Ok(out)
}

fn text(f: &std::collections::HashMap<String, Vec<u8>>, name: &str) -> String {
    f.get(name).map(|b| String::from_utf8_lossy(b).trim().to_owned()).unwrap_or_default()
}

const INVENTORY_ROLES: [Role; 2] = [Role::Owner, Role::Operator];

/// A TXT/CSV file of codes: the batch opens at once and fills in the background; the
/// browser goes to the batch page, which shows the progress.
async fn upload_codes(State(shop): State<Shop>, session: Session, form: Multipart) -> Response {
    let page = "/admin/inventory";
    let Some(user) = staff(&shop, &session, &INVENTORY_ROLES).await else { return back(page, "forbidden") };
    let Ok(f) = fields(form).await else { return back(page, "bad_request") };
    let Some(file) = f.get("file").filter(|b| !b.is_empty()) else { return back(page, "empty_import") };
    let Ok(codes) = String::from_utf8(file.clone()) else { return back(page, "not_text") };
    let expires_at = match text(&f, "expires").as_str() {
        "" => None,
        d => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d.and_hms_opt(23, 59, 59).expect("valid time").and_utc()),
            Err(_) => return back(page, "bad_date"),
        },
    };
    let unit_cost = match quanyi::inventory::parse_cost(&text(&f, "cost")) {
        Ok(c) => c,
        Err(e) => return back(page, e.code()),
    };
    let spec = quanyi::inventory::BatchSpec {
        sku_code: text(&f, "sku"),
        unit_cost,
        currency: quanyi::platform::money::Currency::CNY,
        supplier: text(&f, "supplier"),
        expires_at,
        source: "upload",
    };
    let actor = quanyi::identity::Actor::web(user, None);
    let batch = match quanyi::inventory::open_batch(&shop.db, &shop.clock, &actor, &spec, &codes).await {
        Ok(b) => b,
        Err(e) => return back(page, e.code()),
    };
    let id = batch.id;
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let result =
            quanyi::inventory::fill_batch(&shop.db, &shop.clock, &shop.vault, &actor, &spec, batch, &codes, |_, _| {})
                .await;
        match result {
            Ok(r) => tracing::info!(
                batch = id,
                lines = r.lines_total,
                imported = r.imported,
                secs = started.elapsed().as_secs_f64(),
                "upload imported"
            ),
            Err(e) => tracing::error!(batch = id, error = %e, "upload import failed"),
        }
    });
    Redirect::to(&format!("/admin/batches/{id}")).into_response()
}

const CATALOG_ROLES: [Role; 2] = [Role::Owner, Role::Operator];

async fn upload_catalog(State(shop): State<Shop>, session: Session, form: Multipart) -> Response {
    let page = "/admin/catalog";
    let Some(user) = staff(&shop, &session, &CATALOG_ROLES).await else { return back(page, "forbidden") };
    let Ok(f) = fields(form).await else { return back(page, "bad_request") };
    let Some(file) = f.get("file").filter(|b| !b.is_empty()) else { return back(page, "empty_import") };
    let actor = quanyi::identity::Actor::web(user, None);
    let report: Result<String, Vec<(usize, String)>> =
        match quanyi::catalog::admin::import_csv(&shop.db, &shop.clock, &actor, file).await {
            Ok(r) => Ok(format!("{} / {} / {}", r.rows, r.products, r.skus)),
            Err(quanyi::catalog::admin::CatalogError::Rows(rows)) => Err(rows.into_iter().take(100).collect()),
            Err(e) => {
                tracing::error!(error = %e, "catalog import failed");
                return back(page, "internal");
            }
        };
    let failed = report.is_err();
    if app::ssr::put_flash(&session, CATALOG_REPORT, report).await.is_err() {
        return back(page, "internal");
    }
    if failed { back(page, "csv_errors") } else { Redirect::to(&format!("{page}?imported=1")).into_response() }
}

/// The formats browsers show, recognised by their first bytes (never by the name).
fn image_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("jpg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else {
        None
    }
}

const MAX_IMAGE: usize = 2 * 1024 * 1024;

async fn upload_image(State(shop): State<Shop>, session: Session, form: Multipart) -> Response {
    // The role first: nobody else's upload is read.
    if staff(&shop, &session, &CATALOG_ROLES).await.is_none() {
        return back("/admin/catalog", "forbidden");
    }
    let Ok(f) = fields(form).await else { return back("/admin/catalog", "bad_request") };
    let slug = text(&f, "slug");
    if !quanyi::catalog::is_slug(&slug) {
        return back("/admin/catalog", "not_found");
    }
    let page = format!("/admin/catalog/{slug}");
    let Some(bytes) = f.get("file").filter(|b| !b.is_empty()) else { return back(&page, "bad_image") };
    if bytes.len() > MAX_IMAGE {
        return back(&page, "image_too_large");
    }
    let Some(ext) = image_kind(bytes) else { return back(&page, "bad_image") };
    let name = format!("{}.{ext}", &hex::encode(Sha256::digest(bytes))[..24]);
    let dir = shop.config.data_dir.join("images");
    if tokio::fs::create_dir_all(&dir).await.is_err() || tokio::fs::write(dir.join(&name), bytes).await.is_err() {
        return back(&page, "internal");
    }
    match quanyi::catalog::admin::set_image(&shop.db, &shop.clock, &slug, Some(&name)).await {
        Ok(()) => Redirect::to(&format!("{page}?saved=1")).into_response(),
        Err(e) => back(&page, e.code()),
    }
}

//! The admin's code vault: stock per SKU, and importing codes by paste.
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkuStock {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub available: i64,
    pub reserved: i64,
    pub sold: i64,
    pub void: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub batch_id: i32,
    pub sku: String,
    pub lines: usize,
    pub imported: usize,
    /// "line 4: duplicate of line 1" and the like, first 100.
    pub problems: Vec<String>,
    pub duplicates: usize,
    pub rejected: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InventoryPage {
    pub skus: Vec<SkuStock>,
    pub last_import: Option<ImportSummary>,
}

#[cfg(feature = "ssr")]
const IMPORT_FLASH: &str = "import_summary";

#[cfg(feature = "ssr")]
const STOCK_ROLES: [quanyi::identity::Role; 2] = [quanyi::identity::Role::Owner, quanyi::identity::Role::Operator];

#[server(prefix = "/api", endpoint = "admin/inventory")]
pub async fn get_inventory() -> Result<InventoryPage, AppError> {
    crate::ssr::require_role(&STOCK_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let locale = crate::i18n::current_locale();
    let mut skus = vec![];
    for s in quanyi::catalog::code_skus(&shop.db).await? {
        let c = quanyi::inventory::counts(&shop.db, Some(s.id), None).await?;
        skus.push(SkuStock {
            name: if locale == crate::i18n::Locale::En { s.name_en.clone() } else { s.name_zh.clone() },
            code: s.code,
            kind: s.kind.to_string(),
            available: c["available"],
            reserved: c["reserved"],
            sold: c["sold"],
            void: c["void"],
        });
    }
    let last_import = crate::ssr::peek_flash::<ImportSummary>(&crate::ssr::session().await?, IMPORT_FLASH).await;
    Ok(InventoryPage { skus, last_import })
}

#[server(prefix = "/api", endpoint = "admin/inventory/import")]
pub async fn import_codes_paste(sku: String, cost: String, supplier: String, codes: String) -> Result<(), AppError> {
    use quanyi::inventory::{self, BatchSpec, Duplicate};
    let user = crate::ssr::require_role(&STOCK_ROLES).await?;
    let shop = crate::ssr::shop()?;
    let unit_cost = inventory::parse_cost(&cost).map_err(|e| AppError::code(e.code()))?;
    let spec = BatchSpec {
        sku_code: sku.clone(),
        unit_cost,
        currency: quanyi::platform::money::Currency::CNY,
        supplier,
        expires_at: None,
        source: "paste",
    };
    let actor = crate::ssr::actor(user);
    let report = inventory::import_codes(&shop.db, &shop.clock, &shop.vault, &actor, &spec, &codes, |_, _| {})
        .await
        .map_err(|e| AppError::code(e.code()))?;
    let locale = crate::i18n::current_locale();
    let tr = |k: &str| crate::i18n::t(locale, k);
    let mut problems: Vec<(usize, String)> = report
        .duplicates
        .iter()
        .map(|d| match d {
            Duplicate::InFile { line, first_line } => (
                *line,
                tr("inventory.dup_in_file")
                    .replace("%{line}", &line.to_string())
                    .replace("%{first}", &first_line.to_string()),
            ),
            Duplicate::AlreadyStored { line } => {
                (*line, tr("inventory.dup_stored").replace("%{line}", &line.to_string()))
            }
        })
        .collect();
    problems.extend(report.rejected.iter().map(|(line, why)| {
        (*line, tr("inventory.rejected").replace("%{line}", &line.to_string()).replace("%{why}", why))
    }));
    problems.sort_by_key(|(l, _)| *l);
    let summary = ImportSummary {
        batch_id: report.batch_id,
        sku,
        lines: report.lines_total,
        imported: report.imported,
        duplicates: report.duplicates.len(),
        rejected: report.rejected.len(),
        problems: problems.into_iter().take(100).map(|(_, p)| p).collect(),
    };
    crate::ssr::put_flash(&crate::ssr::session().await?, IMPORT_FLASH, summary).await?;
    leptos_axum::redirect("/admin/inventory");
    Ok(())
}

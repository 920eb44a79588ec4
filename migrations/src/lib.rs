//! Quanyi's schema, one migration per change, never edited once merged.
pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261125_000001_foundation;
mod m20261125_000002_vault_and_orders;
mod m20261125_000003_reseller_api;
mod m20261125_000004_cart_delivery_stripe;
mod m20261202_000005_order_lookups;
mod m20261205_000006_hold_sweep;
mod m20261205_000007_code_order_index;
mod m20261207_000008_order_locale;
mod m20261207_000009_domain_events;
mod m20261207_000010_line_names_per_language;
mod m20261207_000011_key_checks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_foundation::Migration),
            Box::new(m20261125_000002_vault_and_orders::Migration),
            Box::new(m20261125_000003_reseller_api::Migration),
            Box::new(m20261125_000004_cart_delivery_stripe::Migration),
            Box::new(m20261202_000005_order_lookups::Migration),
            Box::new(m20261205_000006_hold_sweep::Migration),
            Box::new(m20261205_000007_code_order_index::Migration),
            Box::new(m20261207_000008_order_locale::Migration),
            Box::new(m20261207_000009_domain_events::Migration),
            Box::new(m20261207_000010_line_names_per_language::Migration),
            Box::new(m20261207_000011_key_checks::Migration),
        ]
    }
}

//! An order line keeps its product's and option's names in each language, as they were
//! when it was bought, instead of one `"中文 / English"` string split when shown. The old
//! columns keep the Chinese half (`product_name`, `sku_name`); the English half moves to
//! the new columns. A name without the separator was written in one language only: it is
//! kept in both.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [OrderLines::ProductNameEn, OrderLines::SkuNameEn] {
            m.alter_table(
                Table::alter()
                    .table(OrderLines::Table)
                    .add_column(ColumnDef::new(col).string().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        }
        // Every SET reads the row as it was, on both backends.
        let (find, after, before) = match m.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => {
                ("strpos({c}, ' / ')", "substr({c}, strpos({c}, ' / ') + 3)", "substr({c}, 1, strpos({c}, ' / ') - 1)")
            }
            _ => ("instr({c}, ' / ')", "substr({c}, instr({c}, ' / ') + 3)", "substr({c}, 1, instr({c}, ' / ') - 1)"),
        };
        let conn = m.get_connection();
        for (zh, en) in [("product_name", "product_name_en"), ("sku_name", "sku_name_en")] {
            let at = |t: &str| t.replace("{c}", zh);
            conn.execute_unprepared(&format!(
                "UPDATE order_lines SET {en} = {after}, {zh} = {before} WHERE {find} > 0",
                after = at(after),
                before = at(before),
                find = at(find),
            ))
            .await?;
            conn.execute_unprepared(&format!("UPDATE order_lines SET {en} = {zh} WHERE {en} = ''")).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        for (zh, en) in [("product_name", "product_name_en"), ("sku_name", "sku_name_en")] {
            conn.execute_unprepared(&format!("UPDATE order_lines SET {zh} = {zh} || ' / ' || {en} WHERE {zh} <> {en}"))
                .await?;
        }
        for col in [OrderLines::ProductNameEn, OrderLines::SkuNameEn] {
            m.alter_table(Table::alter().table(OrderLines::Table).drop_column(col).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum OrderLines {
    Table,
    ProductNameEn,
    SkuNameEn,
}

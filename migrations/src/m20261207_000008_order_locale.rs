//! Each order remembers the language its buyer shopped in, so its messages (the delivery
//! email and text, resends) are written in that language. Orders before this were all
//! placed in the default language.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Orders::Table)
                .add_column(ColumnDef::new(Orders::Locale).string_len(8).not_null().default("zh-CN"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Orders::Table).drop_column(Orders::Locale).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    Locale,
}

//! The codes of an order are found by `order_id`; a code on the shelf has none. The new
//! index keeps only the codes that have one: claiming a code no longer adds an entry for
//! it, and no statement that asks for codes without an order can be planned through it
//! (PostgreSQL did, on the statistics of a young database, reading every unsold code to
//! assign a batch's held codes to their orders). It takes a new name, created before the
//! old one is dropped: a pooled SQLite connection whose schema was read before the drop
//! would refuse to create an index under the dropped name.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("CREATE INDEX idx_codes_order_set ON codes (order_id) WHERE order_id IS NOT NULL")
            .await?;
        m.drop_index(Index::drop().name("idx_codes_order").table(Codes::Table).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(Index::create().name("idx_codes_order").table(Codes::Table).col(Codes::OrderId).to_owned())
            .await?;
        m.drop_index(Index::drop().name("idx_codes_order_set").table(Codes::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Codes {
    Table,
    OrderId,
}

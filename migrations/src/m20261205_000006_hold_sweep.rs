//! Lapsed holds are found by a sweep over unpaid orders past their hold's end, instead of
//! an expiry job queued with each order. The status index becomes (status, hold end), so
//! the sweep reads only the orders it expires; the status-only index is its prefix.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("idx_orders_status_until")
                .table(Orders::Table)
                .col(Orders::Status)
                .col(Orders::ReservedUntil)
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name("idx_orders_status_reserved").table(Orders::Table).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create().name("idx_orders_status_reserved").table(Orders::Table).col(Orders::Status).to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name("idx_orders_status_until").table(Orders::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Orders {
    Table,
    Status,
    ReservedUntil,
}

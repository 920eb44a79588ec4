//! Domain events: what changed (an order paid or fulfilled, a SKU's stock, the catalog,
//! API keys), written in the transaction of its cause. Every instance reads the log to
//! drop its cached copies, whoever made the change — a page, the CLI, a background job
//! or another instance; later consumers (commissions, the ledger) read it too.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DomainEvents::Table)
                .col(big_integer(DomainEvents::Id).auto_increment().primary_key())
                .col(string_len(DomainEvents::Kind, 32))
                .col(integer_null(DomainEvents::SubjectId))
                .col(timestamp_with_time_zone(DomainEvents::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_domain_events_created_at")
                .table(DomainEvents::Table)
                .col(DomainEvents::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DomainEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum DomainEvents {
    Table,
    Id,
    Kind,
    SubjectId,
    CreatedAt,
}

//! Key checks: which master key this database's codes are sealed under, as a key id and a
//! check value both derived one way from the key (neither reveals it). A start with a
//! missing or different key file stops with a clear message instead of making a new key,
//! which would leave every code unreadable and let the same code be imported twice.
//! `role` is `current` (and, while a rotation runs, `next`).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(KeyChecks::Table)
                .col(string_len(KeyChecks::Role, 16).primary_key())
                .col(string_len(KeyChecks::KeyId, 32))
                .col(string_len(KeyChecks::CheckValue, 64))
                .col(timestamp_with_time_zone(KeyChecks::CreatedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(KeyChecks::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum KeyChecks {
    Table,
    Role,
    KeyId,
    CheckValue,
    CreatedAt,
}

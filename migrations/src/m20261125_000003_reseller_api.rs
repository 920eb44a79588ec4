//! The reseller JSON API: hashed API keys, and idempotency records that make a replayed
//! request answer exactly as the first one did.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .col(pk_auto(ApiKeys::Id))
                .col(integer(ApiKeys::UserId))
                .col(string_len(ApiKeys::Name, 80))
                .col(string_len(ApiKeys::Prefix, 16))
                .col(char_len_uniq(ApiKeys::KeyHash, 64))
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_keys_user")
                        .from(ApiKeys::Table, ApiKeys::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiRequests::Table)
                .col(pk_auto(ApiRequests::Id))
                .col(integer(ApiRequests::ApiKeyId))
                .col(string_len(ApiRequests::IdempotencyKey, 128))
                .col(char_len(ApiRequests::RequestHash, 64))
                .col(integer_null(ApiRequests::Status))
                .col(text_null(ApiRequests::Response))
                .col(timestamp_with_time_zone(ApiRequests::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_requests_key")
                        .from(ApiRequests::Table, ApiRequests::ApiKeyId)
                        .to(ApiKeys::Table, ApiKeys::Id),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter().table(Orders::Table).add_column(string_len_null(Orders::ExternalRef, 128)).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_api_requests_key")
                .table(ApiRequests::Table)
                .col(ApiRequests::ApiKeyId)
                .col(ApiRequests::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Orders::Table).drop_column(Orders::ExternalRef).to_owned()).await?;
        m.drop_table(Table::drop().table(ApiRequests::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    ExternalRef,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    KeyHash,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ApiRequests {
    Table,
    Id,
    ApiKeyId,
    IdempotencyKey,
    RequestHash,
    Status,
    Response,
    CreatedAt,
}

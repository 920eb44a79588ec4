//! Carts for members, in-site messages and the delivery outbox, Stripe checkout sessions,
//! the sealed private link kept for delivery emails, and per-SKU stock and top-up rules.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CartItems::Table)
                .col(pk_auto(CartItems::Id))
                .col(integer(CartItems::UserId))
                .col(integer(CartItems::SkuId))
                .col(integer(CartItems::Quantity))
                .col(string_len_null(CartItems::TopupAccount, 64))
                .col(timestamp_with_time_zone(CartItems::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_cart_items_user")
                        .from(CartItems::Table, CartItems::UserId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_cart_items_sku")
                        .from(CartItems::Table, CartItems::SkuId)
                        .to(Skus::Table, Skus::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_cart_items_user_sku")
                .table(CartItems::Table)
                .col(CartItems::UserId)
                .col(CartItems::SkuId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(pk_auto(Messages::Id))
                .col(integer(Messages::UserId))
                .col(integer_null(Messages::OrderId))
                .col(string_len(Messages::Kind, 32))
                .col(string_len(Messages::Title, 200))
                .col(text(Messages::Body))
                .col(timestamp_with_time_zone_null(Messages::ReadAt))
                .col(timestamp_with_time_zone(Messages::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_messages_user")
                        .from(Messages::Table, Messages::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_messages_user").table(Messages::Table).col(Messages::UserId).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .col(pk_auto(Deliveries::Id))
                .col(integer(Deliveries::OrderId))
                .col(string_len(Deliveries::Channel, 16))
                .col(string_len(Deliveries::Recipient, 254))
                .col(string_len(Deliveries::Reason, 16))
                .col(string_len(Deliveries::Status, 16))
                .col(integer(Deliveries::Attempts))
                .col(string_len_null(Deliveries::LastError, 1000))
                .col(integer_null(Deliveries::RequestedBy))
                .col(string_len_null(Deliveries::Artifact, 300))
                .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                .col(timestamp_with_time_zone_null(Deliveries::SentAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_deliveries_order")
                        .from(Deliveries::Table, Deliveries::OrderId)
                        .to(Orders::Table, Orders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_deliveries_order").table(Deliveries::Table).col(Deliveries::OrderId).to_owned(),
        )
        .await?;
        // SQLite adds one column per statement.
        for stmt in [
            Table::alter().table(Orders::Table).add_column(blob_null(Orders::LookupTokenSealed)).to_owned(),
            Table::alter().table(Orders::Table).add_column(string_len_null(Orders::ProviderSession, 255)).to_owned(),
            Table::alter().table(Orders::Table).add_column(string_len_null(Orders::LookupPasswordHash, 255)).to_owned(),
            Table::alter().table(Skus::Table).add_column(integer(Skus::LowStockThreshold).default(10)).to_owned(),
            Table::alter().table(Skus::Table).add_column(string_len_null(Skus::TopupPattern, 200)).to_owned(),
            Table::alter().table(Skus::Table).add_column(integer_null(Skus::MaxPerBuyer)).to_owned(),
            Table::alter().table(Products::Table).add_column(string_len_null(Products::Image, 200)).to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        m.create_index(
            Index::create()
                .name("ix_orders_provider_session")
                .table(Orders::Table)
                .col(Orders::ProviderSession)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_orders_provider_session").table(Orders::Table).to_owned()).await?;
        for stmt in [
            Table::alter().table(Products::Table).drop_column(Products::Image).to_owned(),
            Table::alter().table(Skus::Table).drop_column(Skus::MaxPerBuyer).to_owned(),
            Table::alter().table(Skus::Table).drop_column(Skus::TopupPattern).to_owned(),
            Table::alter().table(Skus::Table).drop_column(Skus::LowStockThreshold).to_owned(),
            Table::alter().table(Orders::Table).drop_column(Orders::LookupPasswordHash).to_owned(),
            Table::alter().table(Orders::Table).drop_column(Orders::ProviderSession).to_owned(),
            Table::alter().table(Orders::Table).drop_column(Orders::LookupTokenSealed).to_owned(),
        ] {
            m.alter_table(stmt).await?;
        }
        m.drop_table(Table::drop().table(Deliveries::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Messages::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(CartItems::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Skus {
    Table,
    Id,
    LowStockThreshold,
    TopupPattern,
    MaxPerBuyer,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Image,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    LookupTokenSealed,
    ProviderSession,
    LookupPasswordHash,
}

#[derive(DeriveIden)]
enum CartItems {
    Table,
    Id,
    UserId,
    SkuId,
    Quantity,
    TopupAccount,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    UserId,
    OrderId,
    Kind,
    Title,
    Body,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    OrderId,
    Channel,
    Recipient,
    Reason,
    Status,
    Attempts,
    LastError,
    RequestedBy,
    Artifact,
    CreatedAt,
    SentAt,
}

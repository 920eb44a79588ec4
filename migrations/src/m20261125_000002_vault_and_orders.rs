//! The sell-and-deliver pipeline: the code vault (batches and sealed codes), orders and
//! their lines, allocations (one code, one line — ever), payment events (one effect per
//! event), wallets, and the durable job table.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Batches::Table)
                .col(pk_auto(Batches::Id))
                .col(integer(Batches::SkuId))
                .col(string_len(Batches::Supplier, 120))
                .col(big_integer(Batches::UnitCostE4))
                .col(string_len(Batches::Currency, 3))
                .col(timestamp_with_time_zone(Batches::ReceivedAt))
                .col(timestamp_with_time_zone_null(Batches::ExpiresAt))
                .col(string_len(Batches::Source, 16))
                .col(integer(Batches::LinesTotal).default(0))
                .col(integer(Batches::Imported).default(0))
                .col(integer(Batches::Duplicates).default(0))
                .col(integer(Batches::Rejected).default(0))
                .col(string_len(Batches::Status, 16))
                .col(integer_null(Batches::CreatedBy))
                .col(timestamp_with_time_zone(Batches::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_batches_sku")
                        .from(Batches::Table, Batches::SkuId)
                        .to(Skus::Table, Skus::Id),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Orders::Table)
                .col(pk_auto(Orders::Id))
                .col(string_len_uniq(Orders::OrderNo, 24))
                .col(integer_null(Orders::UserId))
                .col(string_len_null(Orders::ContactEmail, 254))
                .col(string_len_null(Orders::ContactPhone, 32))
                .col(string_len(Orders::LookupTokenHash, 64))
                .col(string_len(Orders::Status, 24))
                .col(big_integer(Orders::TotalE4))
                .col(big_integer(Orders::RefundedE4).default(0))
                .col(string_len(Orders::Currency, 3))
                .col(string_len_null(Orders::PaymentProvider, 16))
                .col(string_len_null(Orders::PaymentRef, 255))
                .col(string_len(Orders::Channel, 16))
                .col(string_len_null(Orders::ClientIp, 64))
                .col(string_len_null(Orders::SessionKey, 64))
                .col(timestamp_with_time_zone(Orders::ReservedUntil))
                .col(timestamp_with_time_zone(Orders::CreatedAt))
                .col(timestamp_with_time_zone_null(Orders::PaidAt))
                .col(timestamp_with_time_zone_null(Orders::FulfilledAt))
                .col(timestamp_with_time_zone(Orders::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_orders_user")
                        .from(Orders::Table, Orders::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_orders_user", Orders::UserId),
            ("idx_orders_status_reserved", Orders::Status),
            ("idx_orders_ip", Orders::ClientIp),
        ] {
            m.create_index(Index::create().name(name).table(Orders::Table).col(col).to_owned()).await?;
        }

        m.create_table(
            Table::create()
                .table(OrderLines::Table)
                .col(pk_auto(OrderLines::Id))
                .col(integer(OrderLines::OrderId))
                .col(integer(OrderLines::SkuId))
                .col(integer(OrderLines::Quantity))
                .col(big_integer(OrderLines::UnitPriceE4))
                .col(string_len(OrderLines::SkuCode, 64))
                .col(string_len(OrderLines::ProductName, 240))
                .col(string_len(OrderLines::SkuName, 240))
                .col(string_len(OrderLines::Kind, 24))
                .col(string_len_null(OrderLines::TopupAccount, 120))
                .col(integer(OrderLines::Delivered).default(0))
                .col(integer(OrderLines::Refunded).default(0))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_lines_order")
                        .from(OrderLines::Table, OrderLines::OrderId)
                        .to(Orders::Table, Orders::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_lines_sku")
                        .from(OrderLines::Table, OrderLines::SkuId)
                        .to(Skus::Table, Skus::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_lines_order").table(OrderLines::Table).col(OrderLines::OrderId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Codes::Table)
                .col(pk_auto(Codes::Id))
                .col(integer(Codes::SkuId))
                .col(integer(Codes::BatchId))
                .col(char_len_uniq(Codes::Fingerprint, 64))
                .col(blob(Codes::Sealed))
                .col(string_len(Codes::Status, 12))
                .col(integer_null(Codes::OrderId))
                .col(timestamp_with_time_zone_null(Codes::ReservedUntil))
                .col(timestamp_with_time_zone_null(Codes::ExpiresAt))
                .col(timestamp_with_time_zone_null(Codes::SoldAt))
                .col(string_len_null(Codes::VoidReason, 200))
                .col(timestamp_with_time_zone(Codes::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_codes_sku")
                        .from(Codes::Table, Codes::SkuId)
                        .to(Skus::Table, Skus::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_codes_batch")
                        .from(Codes::Table, Codes::BatchId)
                        .to(Batches::Table, Batches::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_codes_order")
                        .from(Codes::Table, Codes::OrderId)
                        .to(Orders::Table, Orders::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_codes_claim")
                .table(Codes::Table)
                .col(Codes::SkuId)
                .col(Codes::Status)
                .col(Codes::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_codes_order").table(Codes::Table).col(Codes::OrderId).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_codes_batch")
                .table(Codes::Table)
                .col(Codes::BatchId)
                .col(Codes::Status)
                .to_owned(),
        )
        .await?;

        // One code, one buyer: a code is allocated to at most one order line, ever.
        m.create_table(
            Table::create()
                .table(Allocations::Table)
                .col(pk_auto(Allocations::Id))
                .col(integer(Allocations::OrderLineId))
                .col(integer_uniq(Allocations::CodeId))
                .col(boolean(Allocations::Active).default(true))
                .col(timestamp_with_time_zone(Allocations::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_alloc_line")
                        .from(Allocations::Table, Allocations::OrderLineId)
                        .to(OrderLines::Table, OrderLines::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_alloc_code")
                        .from(Allocations::Table, Allocations::CodeId)
                        .to(Codes::Table, Codes::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_alloc_line").table(Allocations::Table).col(Allocations::OrderLineId).to_owned(),
        )
        .await?;

        // Paid once, fulfilled once: the event id is recorded with its effect.
        m.create_table(
            Table::create()
                .table(PaymentEvents::Table)
                .col(pk_auto(PaymentEvents::Id))
                .col(string_len(PaymentEvents::Provider, 16))
                .col(string_len(PaymentEvents::EventId, 255))
                .col(string_len(PaymentEvents::Kind, 64))
                .col(integer_null(PaymentEvents::OrderId))
                .col(timestamp_with_time_zone(PaymentEvents::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_payment_events")
                .table(PaymentEvents::Table)
                .col(PaymentEvents::Provider)
                .col(PaymentEvents::EventId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Wallets::Table)
                .col(integer(Wallets::UserId).primary_key())
                .col(big_integer(Wallets::BalanceE4).default(0))
                .col(string_len(Wallets::Currency, 3))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_wallet_user")
                        .from(Wallets::Table, Wallets::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WalletEntries::Table)
                .col(pk_auto(WalletEntries::Id))
                .col(integer(WalletEntries::UserId))
                .col(big_integer(WalletEntries::AmountE4))
                .col(big_integer(WalletEntries::BalanceAfterE4))
                .col(string_len(WalletEntries::Kind, 16))
                .col(integer_null(WalletEntries::OrderId))
                .col(string_len_null(WalletEntries::Note, 200))
                .col(integer_null(WalletEntries::ActorId))
                .col(timestamp_with_time_zone(WalletEntries::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_wentries_wallet")
                        .from(WalletEntries::Table, WalletEntries::UserId)
                        .to(Wallets::Table, Wallets::UserId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_wentries_user").table(WalletEntries::Table).col(WalletEntries::UserId).to_owned(),
        )
        .await?;

        // Work that must outlive a request.
        m.create_table(
            Table::create()
                .table(Jobs::Table)
                .col(pk_auto(Jobs::Id))
                .col(string_len(Jobs::Kind, 48))
                .col(text(Jobs::Payload))
                .col(string_len_null(Jobs::DedupeKey, 120))
                .col(string_len(Jobs::Status, 12))
                .col(integer(Jobs::Attempts).default(0))
                .col(integer(Jobs::MaxAttempts).default(8))
                .col(timestamp_with_time_zone(Jobs::RunAt))
                .col(timestamp_with_time_zone_null(Jobs::LockedUntil))
                .col(text_null(Jobs::LastError))
                .col(timestamp_with_time_zone(Jobs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_jobs_due").table(Jobs::Table).col(Jobs::Status).col(Jobs::RunAt).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alerts::Table)
                .col(pk_auto(Alerts::Id))
                .col(string_len(Alerts::Kind, 32))
                .col(string_len(Alerts::Message, 500))
                .col(timestamp_with_time_zone(Alerts::CreatedAt))
                .col(timestamp_with_time_zone_null(Alerts::ResolvedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("uq_jobs_dedupe").table(Jobs::Table).col(Jobs::DedupeKey).unique().to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Alerts::Table.into_iden(),
            Jobs::Table.into_iden(),
            WalletEntries::Table.into_iden(),
            Wallets::Table.into_iden(),
            PaymentEvents::Table.into_iden(),
            Allocations::Table.into_iden(),
            Codes::Table.into_iden(),
            OrderLines::Table.into_iden(),
            Orders::Table.into_iden(),
            Batches::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
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
}

#[derive(DeriveIden)]
enum Batches {
    Table,
    Id,
    SkuId,
    Supplier,
    UnitCostE4,
    Currency,
    ReceivedAt,
    ExpiresAt,
    Source,
    LinesTotal,
    Imported,
    Duplicates,
    Rejected,
    Status,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    OrderNo,
    UserId,
    ContactEmail,
    ContactPhone,
    LookupTokenHash,
    Status,
    TotalE4,
    RefundedE4,
    Currency,
    PaymentProvider,
    PaymentRef,
    Channel,
    ClientIp,
    SessionKey,
    ReservedUntil,
    CreatedAt,
    PaidAt,
    FulfilledAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrderLines {
    Table,
    Id,
    OrderId,
    SkuId,
    Quantity,
    UnitPriceE4,
    SkuCode,
    ProductName,
    SkuName,
    Kind,
    TopupAccount,
    Delivered,
    Refunded,
}

#[derive(DeriveIden)]
enum Codes {
    Table,
    Id,
    SkuId,
    BatchId,
    Fingerprint,
    Sealed,
    Status,
    OrderId,
    ReservedUntil,
    ExpiresAt,
    SoldAt,
    VoidReason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Allocations {
    Table,
    Id,
    OrderLineId,
    CodeId,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PaymentEvents {
    Table,
    Id,
    Provider,
    EventId,
    Kind,
    OrderId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Wallets {
    Table,
    UserId,
    BalanceE4,
    Currency,
}

#[derive(DeriveIden)]
enum WalletEntries {
    Table,
    Id,
    UserId,
    AmountE4,
    BalanceAfterE4,
    Kind,
    OrderId,
    Note,
    ActorId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    DedupeKey,
    Status,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    Kind,
    Message,
    CreatedAt,
    ResolvedAt,
}

//! Foundation: accounts, sessions, login throttling, the audit log and the catalog skeleton.
//!
//! Money columns are integer ten-thousandths (`*_e4`): exact and summable on SQLite and
//! PostgreSQL alike (SQLite has no decimal type and SeaORM would read it through f64).
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(pk_auto(Users::Id))
                .col(string_len_uniq(Users::Email, 254))
                .col(string(Users::PasswordHash))
                .col(string_len_null(Users::DisplayName, 80))
                .col(string_len(Users::Role, 20))
                .col(boolean(Users::Disabled).default(false))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_users_role").table(Users::Table).col(Users::Role).to_owned()).await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(string_len(Sessions::Id, 64).primary_key())
                .col(blob(Sessions::Data))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_sessions_expires_at").table(Sessions::Table).col(Sessions::ExpiresAt).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuthThrottle::Table)
                .col(string_len(AuthThrottle::Key, 300).primary_key())
                .col(integer(AuthThrottle::Failures))
                .col(timestamp_with_time_zone(AuthThrottle::WindowStart))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(pk_auto(AuditLog::Id))
                .col(integer_null(AuditLog::ActorId))
                .col(string_len_null(AuditLog::ActorEmail, 254))
                .col(string_len(AuditLog::Action, 64))
                .col(string_len_null(AuditLog::Target, 300))
                .col(text_null(AuditLog::Detail))
                .col(string_len_null(AuditLog::Ip, 64))
                .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_audit_actor")
                        .from(AuditLog::Table, AuditLog::ActorId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_audit_created_at").table(AuditLog::Table).col(AuditLog::CreatedAt).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Categories::Table)
                .col(pk_auto(Categories::Id))
                .col(string_len_uniq(Categories::Slug, 64))
                .col(string_len(Categories::NameZh, 80))
                .col(string_len(Categories::NameEn, 80))
                .col(string_len(Categories::Icon, 16))
                .col(integer(Categories::SortOrder).default(0))
                .col(timestamp_with_time_zone(Categories::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Products::Table)
                .col(pk_auto(Products::Id))
                .col(integer(Products::CategoryId))
                .col(string_len_uniq(Products::Slug, 96))
                .col(string_len(Products::NameZh, 120))
                .col(string_len(Products::NameEn, 120))
                .col(string_len(Products::SummaryZh, 300))
                .col(string_len(Products::SummaryEn, 300))
                .col(text(Products::Description))
                .col(text(Products::UsageNotes))
                .col(string_len(Products::Brand, 64))
                .col(string_len(Products::AccentColor, 16))
                .col(boolean(Products::OnShelf).default(true))
                .col(integer(Products::SortOrder).default(0))
                .col(timestamp_with_time_zone(Products::CreatedAt))
                .col(timestamp_with_time_zone(Products::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_products_category")
                        .from(Products::Table, Products::CategoryId)
                        .to(Categories::Table, Categories::Id)
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("idx_products_category").table(Products::Table).col(Products::CategoryId).to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Skus::Table)
                .col(pk_auto(Skus::Id))
                .col(integer(Skus::ProductId))
                .col(string_len_uniq(Skus::Code, 64))
                .col(string_len(Skus::NameZh, 120))
                .col(string_len(Skus::NameEn, 120))
                .col(big_integer(Skus::FaceValueE4))
                .col(big_integer(Skus::PriceE4))
                .col(string_len(Skus::Currency, 3))
                .col(string_len(Skus::Kind, 24))
                .col(integer(Skus::MinPerOrder).default(1))
                .col(integer(Skus::MaxPerOrder).default(10))
                .col(boolean(Skus::OnShelf).default(true))
                .col(timestamp_with_time_zone(Skus::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_skus_product")
                        .from(Skus::Table, Skus::ProductId)
                        .to(Products::Table, Products::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("idx_skus_product").table(Skus::Table).col(Skus::ProductId).to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Skus::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Products::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Categories::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(AuthThrottle::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        m.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    DisplayName,
    Role,
    Disabled,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuthThrottle {
    Table,
    Key,
    Failures,
    WindowStart,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorId,
    ActorEmail,
    Action,
    Target,
    Detail,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Slug,
    NameZh,
    NameEn,
    Icon,
    SortOrder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    CategoryId,
    Slug,
    NameZh,
    NameEn,
    SummaryZh,
    SummaryEn,
    Description,
    UsageNotes,
    Brand,
    AccentColor,
    OnShelf,
    SortOrder,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Skus {
    Table,
    Id,
    ProductId,
    Code,
    NameZh,
    NameEn,
    FaceValueE4,
    PriceE4,
    Currency,
    Kind,
    MinPerOrder,
    MaxPerOrder,
    OnShelf,
    CreatedAt,
}

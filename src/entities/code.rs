use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub sku_id: i32,
    pub batch_id: i32,
    #[sea_orm(unique)]
    pub fingerprint: String,
    pub sealed: Vec<u8>,
    pub status: super::states::CodeStatus,
    pub order_id: Option<i32>,
    pub reserved_until: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub sold_at: Option<DateTimeUtc>,
    pub void_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

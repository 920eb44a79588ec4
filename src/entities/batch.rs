use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub sku_id: i32,
    pub supplier: String,
    pub unit_cost_e4: i64,
    pub currency: String,
    pub received_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub source: String,
    pub lines_total: i32,
    pub imported: i32,
    pub duplicates: i32,
    pub rejected: i32,
    pub status: super::states::BatchStatus,
    pub created_by: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

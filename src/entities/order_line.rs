use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub order_id: i32,
    pub sku_id: i32,
    pub quantity: i32,
    pub unit_price_e4: i64,
    pub sku_code: String,
    pub product_name: String,
    pub sku_name: String,
    pub kind: String,
    pub topup_account: Option<String>,
    pub delivered: i32,
    pub refunded: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

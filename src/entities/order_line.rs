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
    /// The product's and the option's names as they were when bought, in each language.
    #[sea_orm(column_name = "product_name")]
    pub product_name_zh: String,
    pub product_name_en: String,
    #[sea_orm(column_name = "sku_name")]
    pub sku_name_zh: String,
    pub sku_name_en: String,
    pub kind: super::states::SkuKind,
    pub topup_account: Option<String>,
    pub delivered: i32,
    pub refunded: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

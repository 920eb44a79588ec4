use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "skus")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub product_id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub face_value_e4: i64,
    pub price_e4: i64,
    pub currency: String,
    pub kind: super::states::SkuKind,
    pub min_per_order: i32,
    pub max_per_order: i32,
    pub on_shelf: bool,
    pub created_at: DateTimeUtc,
    pub low_stock_threshold: i32,
    pub topup_pattern: Option<String>,
    /// Most units one buyer (account, or guest contact) may ever buy of this SKU — the
    /// flash-sale limit. `None`: no limit.
    pub max_per_buyer: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::product::Entity", from = "Column::ProductId", to = "super::product::Column::Id")]
    Product,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

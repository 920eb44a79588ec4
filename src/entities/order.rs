use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub order_no: String,
    pub user_id: Option<i32>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub lookup_token_hash: String,
    pub status: super::states::OrderStatus,
    pub total_e4: i64,
    pub refunded_e4: i64,
    pub currency: String,
    pub payment_provider: Option<String>,
    pub payment_ref: Option<String>,
    pub channel: String,
    pub client_ip: Option<String>,
    pub session_key: Option<String>,
    pub reserved_until: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub fulfilled_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    pub external_ref: Option<String>,
    pub lookup_token_sealed: Option<Vec<u8>>,
    pub provider_session: Option<String>,
    pub lookup_password_hash: Option<String>,
    /// The language the buyer shopped in (`zh-CN` or `en`): their messages are written in it.
    pub locale: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The states and kinds stored in text columns, typed. A row holding a value not listed
//! here fails to load (a database error) instead of matching nothing in silence. Their
//! behaviour lives in the areas that own them (`orders::Status`, `inventory::CodeStatus` and `BatchStatus`,
//! `catalog::SkuKind`); here is only what the database needs.
use sea_orm::entity::prelude::*;

/// A text-backed enum: the SeaORM column type, `as_str`/`parse`/`ALL` and `Display`.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        pub enum $name {
            $($(#[$vm])* #[sea_orm(string_value = $s)] $v,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$v),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$v => $s,)+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Where an order is: `pending_payment → paid → fulfilled | awaiting_topup`, with
    /// `refunded` / `partially_refunded` when stock could not cover a paid order, and
    /// `pending_payment → expired | cancelled`.
    OrderStatus {
        PendingPayment = "pending_payment",
        Paid = "paid",
        Fulfilled = "fulfilled",
        AwaitingTopup = "awaiting_topup",
        Refunded = "refunded",
        PartiallyRefunded = "partially_refunded",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Where a code is: `available → reserved → sold`, back to `available` when a hold
    /// lapses; `void` (staff) and `expired` (past its own date) take it out of sale.
    CodeStatus {
        Available = "available",
        Reserved = "reserved",
        Sold = "sold",
        Void = "void",
        Expired = "expired",
    }
}

text_enum! {
    /// How a SKU is delivered: a card code, a direct top-up of the buyer's account, or a
    /// redemption link (a code shown with its QR).
    SkuKind {
        CardCode = "card_code",
        DirectTopup = "direct_topup",
        RedemptionLink = "redemption_link",
    }
}

text_enum! {
    /// Where a code batch's import is: `importing` while its lines are read (the admin page
    /// follows it), `done`, or `interrupted` when the instance stopped mid-import.
    BatchStatus {
        Importing = "importing",
        Done = "done",
        Interrupted = "interrupted",
    }
}

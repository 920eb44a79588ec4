//! Payments that arrive after their hold lapsed (a Stripe page paid after the order
//! expired, a test payment of an expired order): the order is judged again as if it were
//! placed now — its SKUs still on shelf, their price unchanged, the buyer within each
//! SKU's per-buyer limit — inside the payment's transaction, before any code is handed
//! over. An expired order no longer counted against the limit, so without this a buyer
//! could hold, let expire and pay again and again (security review H3).
use crate::{
    catalog,
    checkout::snapshot,
    entities::product,
    orders::{Buyer, Line, Order},
    pricing::{self, Channel, PriceContext},
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

/// Why a late-paid order may not be delivered, or `None` when it may. `order` is `paid`
/// in the caller's transaction, so the per-buyer count includes it once.
pub(crate) async fn refusal(
    txn: &impl ConnectionTrait,
    order: &Order,
    lines: &[Line],
) -> Result<Option<String>, DbErr> {
    let buyer = Buyer {
        user_id: order.user_id,
        email: order.contact_email.clone(),
        phone: order.contact_phone.clone(),
        ..Default::default()
    };
    let keys = snapshot::buyer_keys(&buyer);
    // Serialised with this buyer's checkouts (the same locks the batches take).
    snapshot::lock_buyers(txn, &[&keys]).await?;
    let context = PriceContext {
        user_id: order.user_id,
        channel: if order.channel == "api" { Channel::Api } else { Channel::Web },
    };
    for line in lines {
        let Some(sku) = catalog::sku_by_id(txn, line.sku_id).await? else {
            return Ok(Some(format!("{} no longer exists", line.sku_code)));
        };
        let product_on_shelf = product::Entity::find_by_id(sku.product_id).one(txn).await?.is_some_and(|p| p.on_shelf);
        if !(sku.on_shelf && product_on_shelf) {
            return Ok(Some(format!("{} is no longer on sale", sku.code)));
        }
        let quantity = u32::try_from(line.quantity).unwrap_or(0);
        if pricing::line(&context, &sku, quantity).unit_price.e4() != line.unit_price_e4 {
            return Ok(Some(format!("the price of {} changed", sku.code)));
        }
        if let Some(max) = sku.max_per_buyer {
            let units: i64 = snapshot::bought(txn, &[&keys], sku.id)
                .await?
                .iter()
                .filter(|b| keys.shares_with(&b.buyer))
                .map(|b| b.units)
                .sum();
            if units > i64::from(max) {
                return Ok(Some(format!("the buyer would have more than {max} of {}", sku.code)));
            }
        }
    }
    Ok(None)
}

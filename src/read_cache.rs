//! Short-lived copies of what every mall page and every API call reads: the catalog,
//! stock states and API keys. A product page used to make about eight database round
//! trips; with these it makes none while the copies are fresh.
//!
//! Each copy lives a few seconds at most ([`CATALOG_TTL`], [`STOCK_TTL`], [`KEY_TTL`]),
//! and this instance drops its copies the moment it changes what they hold (catalog
//! edits, imports, orders, key revocation). A change made by another instance or by the
//! CLI is seen when the copy expires. Nothing here decides a sale: checkouts and
//! payments read the database, and the claim in the order transaction is the guard
//! against overselling. Concurrent misses of one key load once (moka's `try_get_with`),
//! so an expiry under load costs one query, not one per request.
use crate::{
    catalog::{self, Category, Product, ProductCard, Sku},
    checkout::admission::AdmissionControl,
    entities::api_key,
    identity::User,
    platform::db::Db,
};
use moka::future::Cache;
use sea_orm::DbErr;
use std::{sync::Arc, time::Duration};

/// How long catalog copies (categories, products, the shelf) are served.
pub const CATALOG_TTL: Duration = Duration::from_secs(2);
/// How long a SKU's stock state (`in_stock`, `low`, `sold_out`) is served.
pub const STOCK_TTL: Duration = Duration::from_secs(1);
/// How long an API key's authentication is served (revocation here is immediate).
pub const KEY_TTL: Duration = Duration::from_secs(2);

pub type ProductDetail = Option<(Product, Option<Category>, Vec<Sku>)>;
pub type KeyOwner = Option<(api_key::Model, User)>;

#[derive(Debug)]
pub struct ReadCache {
    categories: Cache<(), Arc<Vec<Category>>>,
    shelf: Cache<(), Arc<Vec<ProductCard>>>,
    sku_codes: Cache<(), Arc<std::collections::HashSet<String>>>,
    products: Cache<String, Arc<ProductDetail>>,
    stock: Cache<String, &'static str>,
    keys: Cache<String, Arc<KeyOwner>>,
}

fn cache<K, V>(capacity: u64, ttl: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().max_capacity(capacity).time_to_live(ttl).build()
}

fn shared(e: Arc<DbErr>) -> DbErr {
    DbErr::Custom(e.to_string())
}

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            categories: cache(1, CATALOG_TTL),
            shelf: cache(1, CATALOG_TTL),
            sku_codes: cache(1, CATALOG_TTL),
            products: cache(10_000, CATALOG_TTL),
            stock: cache(100_000, STOCK_TTL),
            keys: cache(10_000, KEY_TTL),
        }
    }
}

impl ReadCache {
    /// Every category, in display order.
    pub async fn categories(&self, db: &Db) -> Result<Arc<Vec<Category>>, DbErr> {
        self.categories.try_get_with((), async { catalog::categories(db).await.map(Arc::new) }).await.map_err(shared)
    }

    /// Products on shelf with their "from" prices, in display order (filter by category
    /// id for a category page).
    pub async fn shelf(&self, db: &Db) -> Result<Arc<Vec<ProductCard>>, DbErr> {
        self.shelf
            .try_get_with((), async { catalog::products_on_shelf(db, None).await.map(Arc::new) })
            .await
            .map_err(shared)
    }

    /// Is there a SKU with this code? Asked before a buyer's SKU code opens a sale queue, so
    /// made-up codes cost a look-up in memory, not a queue and a transaction each.
    pub async fn sku_exists(&self, db: &Db, code: &str) -> Result<bool, DbErr> {
        if !catalog::is_sku_code(code) {
            return Ok(false);
        }
        let codes = self
            .sku_codes
            .try_get_with((), async { catalog::sku_codes(db).await.map(Arc::new) })
            .await
            .map_err(shared)?;
        Ok(codes.contains(code))
    }

    /// [`catalog::product_detail`]: a product on shelf with its category and SKUs.
    pub async fn product(&self, db: &Db, slug: &str) -> Result<Arc<ProductDetail>, DbErr> {
        // Slugs come from URLs: only plausible ones take a place in the cache.
        if slug.len() > 128 {
            return Ok(Arc::new(None));
        }
        self.products
            .try_get_with_by_ref(slug, async { catalog::product_detail(db, slug).await.map(Arc::new) })
            .await
            .map_err(shared)
    }

    /// [`crate::inventory::stock_state`], believing the gate's sold-out flag first.
    pub async fn stock_state(&self, db: &Db, gate: &AdmissionControl, s: &Sku) -> Result<&'static str, DbErr> {
        if gate.sold_out(&s.code) {
            return Ok("sold_out");
        }
        self.stock.try_get_with_by_ref(s.code.as_str(), crate::inventory::stock_state(db, s)).await.map_err(shared)
    }

    /// [`crate::resellers::authenticate`], keyed by the key's hash (never the key).
    pub async fn api_key(&self, db: &Db, key: &str) -> Result<Arc<KeyOwner>, DbErr> {
        let hash = crate::resellers::hash_key(key.trim());
        self.keys
            .try_get_with(hash, async { crate::resellers::authenticate(db, key).await.map(Arc::new) })
            .await
            .map_err(shared)
    }

    /// The catalog changed (a category, product or SKU saved): drop every copy of it.
    pub fn catalog_changed(&self) {
        self.categories.invalidate_all();
        self.shelf.invalidate_all();
        self.sku_codes.invalidate_all();
        self.products.invalidate_all();
        self.stock.invalidate_all();
    }

    /// Stock changed (codes imported, voided or released).
    pub fn stock_changed(&self) {
        self.stock.invalidate_all();
    }

    /// Units of this SKU were just sold or held: its stock state is asked afresh.
    pub async fn sold(&self, sku_code: &str) {
        self.stock.invalidate(sku_code.trim()).await;
    }

    /// A key was revoked or its owner changed.
    pub fn keys_changed(&self) {
        self.keys.invalidate_all();
    }
}

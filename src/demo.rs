//! The demo catalog and first owner, so a newcomer sees a working shop on first run.
//! Seeding is idempotent: an existing catalog or owner is left alone.
use crate::{
    Clock,
    catalog::SkuKind,
    entities::{category, product, sku},
    identity::{self, Actor, Role},
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, Set, TransactionTrait};
use std::path::Path;

pub const DEMO_ADMIN_EMAIL: &str = "admin@quanyi.local";
const ADMIN_LOGIN_FILE: &str = "admin-login.txt";

#[derive(Debug, Default)]
pub struct SeedReport {
    pub catalog_created: bool,
    /// The demo owner's login, read back from `data/admin-login.txt` on later runs.
    pub admin_email: Option<String>,
    pub admin_password: Option<String>,
}

struct DemoSku(&'static str, &'static str, &'static str, i64, i64, SkuKind);
struct DemoProduct {
    slug: &'static str,
    category: &'static str,
    brand: &'static str,
    color: &'static str,
    name: (&'static str, &'static str),
    summary: (&'static str, &'static str),
    description: &'static str,
    usage: &'static str,
    skus: &'static [DemoSku],
}

const CATEGORIES: &[(&str, &str, &str, &str)] = &[
    ("video", "影视会员", "Video", "🎬"),
    ("music", "音乐会员", "Music", "🎵"),
    ("food", "餐饮美食", "Food & drink", "☕"),
    ("travel", "出行服务", "Travel", "🚗"),
    ("mobile", "话费流量", "Mobile top-up", "📱"),
    ("games", "游戏点卡", "Game cards", "🎮"),
];

const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        slug: "starvideo-vip",
        category: "video",
        brand: "星影",
        color: "#e8453c",
        name: ("星影视频 VIP 会员", "StarVideo VIP membership"),
        summary: ("热门剧集抢先看，蓝光画质，多端通用", "Early access to hit series, Blu-ray quality, every device"),
        description: "星影视频 VIP 会员卡密，激活后立即生效，可在手机、平板、电脑和电视端使用。",
        usage: "1. 打开星影视频 App，进入「我的 → 兑换中心」\n2. 输入卡密并确认\n3. 会员有效期自激活之日起计算，卡密有效期 12 个月",
        skus: &[
            DemoSku("STARVIDEO-MONTH", "月卡", "1 month", 250_000, 198_000, SkuKind::CardCode),
            DemoSku("STARVIDEO-QUARTER", "季卡", "3 months", 680_000, 528_000, SkuKind::CardCode),
            DemoSku("STARVIDEO-YEAR", "年卡", "12 months", 2_480_000, 1_880_000, SkuKind::CardCode),
        ],
    },
    DemoProduct {
        slug: "lumen-tv-super",
        category: "video",
        brand: "光影",
        color: "#7b4dff",
        name: ("光影TV 超级会员", "Lumen TV Super membership"),
        summary: ("电视端 4K 片库，一号五屏", "4K library on TV, five screens per account"),
        description: "光影TV 超级会员，含电视端权益。兑换链接一次有效。",
        usage: "打开兑换链接，登录您的光影TV 账号后点击「立即领取」。链接仅可使用一次。",
        skus: &[
            DemoSku("LUMEN-MONTH", "月卡", "1 month", 380_000, 298_000, SkuKind::RedemptionLink),
            DemoSku("LUMEN-YEAR", "年卡", "12 months", 3_980_000, 2_980_000, SkuKind::RedemptionLink),
        ],
    },
    DemoProduct {
        slug: "cloudtune-premium",
        category: "music",
        brand: "云听",
        color: "#10b981",
        name: ("云听音乐 豪华会员", "CloudTune Premium"),
        summary: ("无损音质，千万曲库免费听", "Lossless audio, ten million tracks"),
        description: "云听音乐豪华会员兑换码，支持叠加续期。",
        usage: "在云听音乐 App「设置 → 兑换码」中输入兑换码即可到账。",
        skus: &[
            DemoSku("CLOUDTUNE-MONTH", "月卡", "1 month", 150_000, 118_000, SkuKind::CardCode),
            DemoSku("CLOUDTUNE-YEAR", "年卡", "12 months", 1_500_000, 1_080_000, SkuKind::CardCode),
        ],
    },
    DemoProduct {
        slug: "morning-brew-coffee",
        category: "food",
        brand: "晨光",
        color: "#b45309",
        name: ("晨光咖啡 中杯饮品券", "Morning Brew coffee voucher"),
        summary: ("全国门店通用，任意中杯饮品", "Any medium drink, every store"),
        description: "晨光咖啡电子饮品券，到店出示券码或在小程序下单时使用。",
        usage: "1. 到店出示券码，或在小程序结算页选择「使用券码」\n2. 每单限用一张\n3. 有效期 90 天，过期作废",
        skus: &[
            DemoSku("BREW-1", "单杯券", "1 drink", 320_000, 99_000, SkuKind::CardCode),
            DemoSku("BREW-10", "十杯套餐", "10 drinks", 3_200_000, 890_000, SkuKind::CardCode),
        ],
    },
    DemoProduct {
        slug: "fresh-market-coupon",
        category: "food",
        brand: "鲜享",
        color: "#16a34a",
        name: ("鲜享生鲜 满减券包", "FreshMart coupon pack"),
        summary: ("满 99 减 30，生鲜果蔬到家", "¥30 off ¥99, groceries delivered"),
        description: "鲜享生鲜平台优惠券包，兑换后券自动进入账户。",
        usage: "在鲜享 App「我的 → 优惠券 → 兑换」输入券码，券包即刻到账。",
        skus: &[DemoSku("FRESH-30", "满99减30", "¥30 off ¥99", 300_000, 90_000, SkuKind::CardCode)],
    },
    DemoProduct {
        slug: "swiftride-credit",
        category: "travel",
        brand: "速行",
        color: "#0ea5e9",
        name: ("速行出行 打车代金券", "SwiftRide ride credit"),
        summary: ("快车、专车通用，无门槛", "Any ride, no minimum"),
        description: "速行出行代金券，兑换后存入账户余额，可用于快车与专车。",
        usage: "速行 App「钱包 → 兑换码」输入卡密即可充值到账户余额。",
        skus: &[
            DemoSku("SWIFTRIDE-20", "20 元", "¥20", 200_000, 185_000, SkuKind::CardCode),
            DemoSku("SWIFTRIDE-50", "50 元", "¥50", 500_000, 460_000, SkuKind::CardCode),
        ],
    },
    DemoProduct {
        slug: "linkmobile-topup",
        category: "mobile",
        brand: "畅联",
        color: "#2563eb",
        name: ("畅联话费 直充", "LinkMobile top-up"),
        summary: ("输入手机号，分钟级到账", "Enter your number, credited in minutes"),
        description: "畅联话费直充，下单时填写充值手机号，充值完成后通知您。",
        usage: "请确认手机号无误；直充订单一经充值无法撤回。",
        skus: &[
            DemoSku("LINK-TOPUP-50", "50 元", "¥50", 500_000, 495_000, SkuKind::DirectTopup),
            DemoSku("LINK-TOPUP-100", "100 元", "¥100", 1_000_000, 988_000, SkuKind::DirectTopup),
        ],
    },
    DemoProduct {
        slug: "dreamrealm-points",
        category: "games",
        brand: "幻境",
        color: "#db2777",
        name: ("幻境游戏 点卡", "DreamRealm game points"),
        summary: ("全区全服通用，秒到账", "Every server, instant"),
        description: "幻境游戏点卡（卡号 + 卡密），可在官网或游戏内充值中心使用。",
        usage: "进入游戏充值中心，选择「点卡充值」，依次输入卡号与卡密。",
        skus: &[
            DemoSku("DREAM-100", "100 点", "100 points", 100_000, 96_000, SkuKind::CardCode),
            DemoSku("DREAM-500", "500 点", "500 points", 500_000, 475_000, SkuKind::CardCode),
        ],
    },
];

/// Stocks every card-code SKU of a freshly created demo catalog with demo codes, so a
/// newcomer can buy something at once. Codes look like `DEMO-BREW-1-7Q2K-9X4M`.
pub async fn seed_codes(
    db: &sea_orm::DatabaseConnection,
    clock: &Clock,
    vault: &crate::platform::vault::Vault,
    per_sku: usize,
) -> Result<usize, DbErr> {
    use rand::Rng;
    let mut total = 0;
    for s in crate::catalog::code_skus(db).await? {
        let mut rng = rand::thread_rng();
        let text: String = (0..per_sku)
            .map(|_| {
                let r: String =
                    (0..8).map(|_| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ"[rng.gen_range(0..31)] as char).collect();
                if s.kind == SkuKind::RedemptionLink {
                    format!("https://redeem.example/{}/{}\n", s.code.to_lowercase(), r)
                } else {
                    format!("DEMO-{}-{}-{}\n", s.code, &r[..4], &r[4..])
                }
            })
            .collect();
        let spec = crate::inventory::BatchSpec {
            sku_code: s.code.clone(),
            unit_cost: rust_decimal::Decimal::new(s.price_e4 * 8 / 10, 4),
            currency: crate::platform::money::Currency::CNY,
            supplier: "Demo supplier".into(),
            expires_at: None,
            source: "cli",
        };
        let report = crate::inventory::import_codes(db, clock, vault, &Actor::cli(), &spec, &text, |_, _| {})
            .await
            .map_err(|e| DbErr::Custom(format!("demo codes: {e}")))?;
        total += report.imported;
    }
    Ok(total)
}

/// Creates the demo catalog (once) and the demo owner (once), remembering the owner's
/// generated password in `data_dir/admin-login.txt` (mode 0600) for the run command.
pub async fn seed(db: &sea_orm::DatabaseConnection, clock: &Clock, data_dir: &Path) -> Result<SeedReport, DbErr> {
    let mut report = SeedReport::default();
    if category::Entity::find().count(db).await? == 0 {
        let txn = db.begin().await?;
        seed_catalog(&txn, clock).await?;
        txn.commit().await?;
        report.catalog_created = true;
    }
    let login_file = data_dir.join(ADMIN_LOGIN_FILE);
    if identity::count_role(db, Role::Owner).await? == 0 {
        let (user, password) = identity::create_user(db, clock, &Actor::cli(), DEMO_ADMIN_EMAIL, "owner", None)
            .await
            .map_err(|e| DbErr::Custom(format!("creating the demo owner: {e}")))?;
        let password = password.expect("generated");
        write_private(&login_file, &format!("{}\n{}\n", user.email, password))
            .map_err(|e| DbErr::Custom(format!("writing {}: {e}", login_file.display())))?;
    }
    if let Ok(text) = std::fs::read_to_string(&login_file) {
        let mut lines = text.lines();
        report.admin_email = lines.next().map(str::to_owned);
        report.admin_password = lines.next().map(str::to_owned);
    }
    Ok(report)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(contents.as_bytes())
}

async fn seed_catalog(db: &impl ConnectionTrait, clock: &Clock) -> Result<(), DbErr> {
    let now = clock.now();
    let mut category_ids = std::collections::HashMap::new();
    for (i, (slug, zh, en, icon)) in CATEGORIES.iter().enumerate() {
        let c = category::ActiveModel {
            slug: Set((*slug).into()),
            name_zh: Set((*zh).into()),
            name_en: Set((*en).into()),
            icon: Set((*icon).into()),
            sort_order: Set(i as i32),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        category_ids.insert(*slug, c.id);
    }
    for (i, p) in PRODUCTS.iter().enumerate() {
        let product = product::ActiveModel {
            category_id: Set(category_ids[p.category]),
            slug: Set(p.slug.into()),
            name_zh: Set(p.name.0.into()),
            name_en: Set(p.name.1.into()),
            summary_zh: Set(p.summary.0.into()),
            summary_en: Set(p.summary.1.into()),
            description: Set(p.description.into()),
            usage_notes: Set(p.usage.into()),
            brand: Set(p.brand.into()),
            accent_color: Set(p.color.into()),
            on_shelf: Set(true),
            sort_order: Set(i as i32),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        for DemoSku(code, zh, en, face, price, kind) in p.skus {
            sku::ActiveModel {
                product_id: Set(product.id),
                code: Set((*code).into()),
                name_zh: Set((*zh).into()),
                name_en: Set((*en).into()),
                face_value_e4: Set(*face),
                price_e4: Set(*price),
                currency: Set("CNY".into()),
                kind: Set(*kind),
                min_per_order: Set(1),
                max_per_order: Set(10),
                on_shelf: Set(true),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

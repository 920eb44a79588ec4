//! Catalog: the demo catalog and search.
use crate::support::identity::*;

db_test!(demo_seed_is_idempotent, |t| {
    let clock = Clock::system();
    let dir = std::env::temp_dir().join(format!("qy-seed-{}", uuid::Uuid::new_v4()));
    let first = quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    assert!(first.catalog_created);
    assert_eq!(first.admin_email.as_deref(), Some(quanyi::demo::DEMO_ADMIN_EMAIL));
    let pw = first.admin_password.clone().unwrap();
    let second = quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    assert!(!second.catalog_created);
    assert_eq!(second.admin_password.as_deref(), Some(pw.as_str()));
    let (cats, products, _, skus) = quanyi::catalog::counts(&t.db).await.unwrap();
    assert_eq!((cats, products), (6, 8));
    assert!(skus >= 14);
    identity::login(&t.db, &clock, &limits(), quanyi::demo::DEMO_ADMIN_EMAIL, &pw, "127.0.0.1").await.unwrap();
    std::fs::remove_dir_all(dir).ok();
});

db_test!(catalog_search_matches_both_languages_literally, |t| {
    let clock = Clock::system();
    let dir = std::env::temp_dir().join(format!("qy-seed-{}", uuid::Uuid::new_v4()));
    quanyi::demo::seed(&t.db, &clock, &dir).await.unwrap();
    let hits = quanyi::catalog::search(&t.db, "咖啡").await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].product.slug, "morning-brew-coffee");
    assert_eq!(hits[0].from_price.unwrap().display(), "¥9.90");
    assert_eq!(quanyi::catalog::search(&t.db, "starvideo").await.unwrap().len(), 1);
    assert!(quanyi::catalog::search(&t.db, "%").await.unwrap().is_empty());
    assert!(quanyi::catalog::search(&t.db, "'; DROP TABLE products; --").await.unwrap().is_empty());
    let (_, products, _, _) = quanyi::catalog::counts(&t.db).await.unwrap();
    assert_eq!(products, 8);
    std::fs::remove_dir_all(dir).ok();
});

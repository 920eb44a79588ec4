//! The real router on a real port, against a fresh database per test, on SQLite and
//! PostgreSQL: forms posted the way a browser without JavaScript posts them.
mod common;

use common::*;
use quanyi::{Clock, db_test, identity};
use reqwest::{StatusCode, header};

db_test!(health_and_readiness, |t| {
    let app = spawn(&t).await;
    assert_eq!(app.get_text(&app.http, "/healthz").await, (StatusCode::OK, "ok".into()));
    assert_eq!(app.get_text(&app.http, "/readyz").await, (StatusCode::OK, "ready".into()));
});

db_test!(pages_render_completely_on_the_server, |t| {
    let app = seeded(&t).await;
    let r = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_owned();
    assert_eq!(r.headers().get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    assert_eq!(r.headers().get(header::REFERRER_POLICY).unwrap(), "same-origin");
    assert!(r.headers().get("x-request-id").is_some());
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"zh-CN\""));
    for text in ["影视会员", "星影视频 VIP 会员", "晨光咖啡 中杯饮品券", "¥9.90"] {
        assert!(html.contains(text), "home lacks {text}");
    }
    // The CSP's nonce is the one on the hydration script.
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "script nonce differs from CSP");
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"));

    let (s, html) = app.get_text(&app.http, "/p/morning-brew-coffee").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("使用说明") && html.contains("每单限用一张") && html.contains("BREW-10"));
    let (s, html) = app.get_text(&app.http, "/search?q=%E5%92%96%E5%95%A1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("晨光咖啡"));
    assert_eq!(app.get_text(&app.http, "/p/no-such-thing").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get_text(&app.http, "/c/no-such-thing").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get_text(&app.http, "/nowhere/at/all").await.0, StatusCode::NOT_FOUND);
});

db_test!(register_by_plain_form_post_signs_in, |t| {
    let app = seeded(&t).await;
    let r = app.register(&app.http, "new@example.com").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(location(&r), "/account?welcome=1");
    let cookie = r.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("qy_sid=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (s, html) = app.get_text(&app.http, "/account?welcome=1").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("new@example.com") && html.contains("注册成功"));
});

db_test!(a_refused_form_comes_back_with_a_translated_error_and_changes_nothing, |t| {
    let app = seeded(&t).await;
    let before = identity::count_users(&app.shop.db).await.unwrap();
    let r = app
        .post_form(
            &app.http,
            "/api/register",
            &[("email", "w@example.com"), ("password", "password123"), ("confirm", "password123")],
            "/register",
        )
        .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = location(&r);
    assert!(back.starts_with(&app.url("/register?")) && back.contains("__err="), "{back}");
    let html = app.http.get(&back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("这个密码太常见"), "error not rendered");
    // And in English for an English reader.
    let html = app.http.get(&back).header(header::COOKIE, "lang=en").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("This password is too common"));
    assert_eq!(identity::count_users(&app.shop.db).await.unwrap(), before);
});

db_test!(cross_site_and_originless_posts_are_refused, |t| {
    let app = seeded(&t).await;
    let before = identity::count_users(&app.shop.db).await.unwrap();
    let form = [("email", "csrf@example.com"), ("password", PW), ("confirm", PW)];
    let forged = app
        .http
        .post(app.url("/api/register"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCEPT, "text/html")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("无法验证请求来源"));
    let bare = app.http.post(app.url("/api/register")).form(&form).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // A script gets the app's error as JSON.
    let js = app
        .http
        .post(app.url("/api/register"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::FORBIDDEN);
    assert!(js.text().await.unwrap().contains("csrf"));
    assert_eq!(identity::count_users(&app.shop.db).await.unwrap(), before);
});

db_test!(oversized_and_malformed_bodies_are_refused, |t| {
    let app = seeded(&t).await;
    let huge = "x".repeat(200_000);
    // The server refuses before reading the body; a client still sending may see the
    // connection close instead of the 413. Either way nothing is read or changed.
    let sent = app
        .http
        .post(app.url("/api/login"))
        .header(header::ORIGIN, &app.base)
        .header(header::ACCEPT, "text/html")
        .form(&[("email", "a@example.com"), ("password", huge.as_str())])
        .send()
        .await;
    if let Ok(r) = sent {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.headers().get(header::CONNECTION).map(|v| v.to_str().unwrap()), Some("close"));
        assert!(r.text().await.unwrap().contains("提交的内容太大"));
    }
    // Just over the limit, with a small declared length mismatch left aside: a body the
    // server reads in full before refusing gets the translated page every time.
    let r = app
        .http
        .post(app.url("/api/login"))
        .header(header::ORIGIN, &app.base)
        .header(header::ACCEPT, "text/html")
        .body(vec![b'x'; 70_000])
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let r = app
        .http
        .post(app.url("/api/login"))
        .header(header::ORIGIN, &app.base)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("%%%&&&=")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A browser without JavaScript gets the form back with a translated message.
    let r = app
        .http
        .post(app.url("/api/login"))
        .header(header::ORIGIN, &app.base)
        .header(header::REFERER, app.url("/login"))
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("%%%&&&=")
        .send()
        .await
        .unwrap();
    let back = r.headers().get(header::LOCATION).unwrap().to_str().unwrap().to_owned();
    let html = app.http.get(&back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("请求格式不正确"), "bad request not explained");
    assert_eq!(identity::count_users(&app.shop.db).await.unwrap(), 1);
    // The server is still healthy afterwards.
    assert_eq!(app.get_text(&app.http, "/healthz").await.0, StatusCode::OK);
});

db_test!(admin_is_for_staff_only, |t| {
    let app = seeded(&t).await;
    let r = app.http.get(app.url("/admin/staff")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=/admin/staff");

    app.register(&app.http, "shopper@example.com").await;
    let (s, html) = app.get_text(&app.http, "/admin").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(html.contains("没有权限"));
    // The server functions refuse too, whatever the page does.
    let r = app.http.post(app.url("/api/admin/dashboard")).header(header::ORIGIN, &app.base).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            &app.http,
            "/api/admin/staff/create",
            &[("email", "sneaky@example.com"), ("role", "owner"), ("password", PW)],
            "/account",
        )
        .await;
    assert!(location(&r).contains("__err="));
    assert_eq!(identity::count_role(&app.shop.db, identity::Role::Owner).await.unwrap(), 1);

    let owner = client();
    assert_eq!(location(&app.owner(&owner, "boss@example.com").await), "/admin");
    let (s, html) = app.get_text(&owner, "/admin").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("data-testid=\"stat-products\""));
    let r = app
        .post_form(
            &owner,
            "/api/admin/staff/create",
            &[("email", "ops@example.com"), ("role", "operator")],
            "/admin/staff",
        )
        .await;
    assert_eq!(location(&r), "/admin/staff");
    let (_, html) = app.get_text(&owner, "/admin/staff").await;
    assert!(html.contains("ops@example.com") && html.contains("data-testid=\"generated-password\""));
    let (_, html) = app.get_text(&owner, "/admin/staff").await;
    assert!(!html.contains("data-testid=\"generated-password\""), "a generated password is shown once");
});

db_test!(sessions_are_shared_by_instances_and_rotated_at_login, |t| {
    let a = seeded(&t).await;
    let b = spawn(&t).await;
    let http = client();
    a.register(&http, "roam@example.com").await;
    let r = a.login(&http, "roam@example.com", PW).await;
    let cookie = r.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    // Instance B knows the session instance A created.
    let html =
        client().get(b.url("/account")).header(header::COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("roam@example.com"));
    // A second login gets a new id and the old one is dead.
    let r = a.login(&http, "roam@example.com", PW).await;
    let cookie2 = r.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_ne!(cookie, cookie2);
    let html =
        client().get(b.url("/account")).header(header::COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("roam@example.com"));
    // Logging out ends it.
    a.post_form(&http, "/api/logout", &[], "/account").await;
    let html =
        client().get(b.url("/account")).header(header::COOKIE, &cookie2).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("roam@example.com") && html.contains("请先登录"));
});

db_test!(a_login_expires_after_its_absolute_lifetime, |t| {
    let clock = Clock::fixed(chrono::Utc::now());
    let app = spawn_with(&t, clock.clone()).await;
    app.register(&app.http, "long@example.com").await;
    assert!(app.get_text(&app.http, "/account").await.1.contains("long@example.com"));
    clock.advance(chrono::Duration::hours(app.shop.config.session_absolute_hours + 1));
    assert!(!app.get_text(&app.http, "/account").await.1.contains("long@example.com"));
});

db_test!(login_throttling_over_http, |t| {
    let app = seeded(&t).await;
    app.register(&client(), "target@example.com").await;
    for _ in 0..5 {
        let r = app.login(&app.http, "target@example.com", "wrong wrong wrong").await;
        assert!(location(&r).contains("__err="));
    }
    let r = app.login(&app.http, "target@example.com", PW).await;
    let html = app.http.get(location(&r)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("尝试次数过多") && html.contains("15 分钟"), "throttle message missing");
});

db_test!(language_switch_is_remembered_and_never_redirects_away, |t| {
    let app = seeded(&t).await;
    let r = app.http.get(app.url("/lang/en?next=/p/starvideo-vip")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/p/starvideo-vip");
    assert!(r.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().starts_with("lang=en"));
    let (_, html) = app.get_text(&app.http, "/p/starvideo-vip").await;
    assert!(
        html.contains("<html lang=\"en\"") && html.contains("StarVideo VIP membership") && html.contains("How to use")
    );
    let r = app.http.get(app.url("/lang/zh-CN?next=https://evil.example/")).send().await.unwrap();
    assert_eq!(location(&r), "/");
});

db_test!(h1_an_anonymous_post_under_the_admin_api_clears_no_cache_and_no_sold_out_flag, |t| {
    // Caches and sold-out flags are cleared only by domain events, which only a staff
    // write's transaction records: a refused request records none, so nothing is cleared.
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = seeded(&t).await;
    let events = || async { quanyi::entities::domain_event::Entity::find().count(&app.shop.db).await.unwrap() };
    let before = events().await;
    for path in ["/api/admin/x", "/api/admin/catalog/save", "/api/admin/codes/import", "/admin/upload/image"] {
        let r = client().post(app.url(path)).header(header::ORIGIN, &app.base).body("a=1").send().await.unwrap();
        assert!(r.status().is_client_error() || r.status().is_redirection(), "{path}: {}", r.status());
    }
    assert_eq!(events().await, before, "a refused request recorded an event");
    // And a sold-out flag set now outlives a catch-up that finds nothing new (the log's
    // earlier events, the seeding's, are read first).
    app.shop.catch_up().await.unwrap();
    app.shop.admission.mark_sold_out("BREW-1");
    app.shop.catch_up().await.unwrap();
    assert!(app.shop.admission.sold_out("BREW-1"));
});

db_test!(l4_a_request_id_the_client_sent_is_replaced_by_the_shops_own, |t| {
    let app = spawn(&t).await;
    let r = app.http.get(app.url("/healthz")).header("x-request-id", "forged-id-123").send().await.unwrap();
    let id = r.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(id != "forged-id-123" && uuid::Uuid::parse_str(&id).is_ok(), "{id}");
});

db_test!(m10_a_next_path_with_a_tab_a_backslash_or_a_line_break_never_leaves_the_shop, |t| {
    let app = seeded(&t).await;
    for next in
        ["/%09/evil.example", "/%5Cevil.example", "%5C/evil.example", "/%0D%0ASet-Cookie:%20x=1", "/%0A/evil.example"]
    {
        let r = app.http.get(app.url(&format!("/lang/en?next={next}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&r), "/", "{next}");
    }
    // After a login too.
    app.owner(&app.http, "owner-m10@example.com").await;
    let form = [("email", "owner-m10@example.com"), ("password", PW), ("next", "/\t/evil.example")];
    let r = app.post_form(&client(), "/api/login", &form, "/login").await;
    assert!(r.status().is_redirection());
    assert!(!location(&r).contains("evil"), "{}", location(&r));
});

db_test!(l1_pages_and_answers_that_hold_codes_or_tokens_are_never_stored, |t| {
    let app = seeded(&t).await;
    stock(&app, "BREW-1", 1, "NOSTORE").await;
    let buyer = client();
    let form = [("sku", "BREW-1"), ("quantity", "1"), ("email", "nostore@example.com"), ("intent", "buy")];
    let r = app.post_form(&buyer, "/api/checkout", &form, "/p/morning-brew-coffee").await;
    assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
    let to = location(&r);
    assert!(to.starts_with("/orders/Q"), "{to}");
    for path in [to.as_str(), "/", "/p/morning-brew-coffee", "/account", "/api/v1/openapi.json", "/healthz"] {
        let r = buyer.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-store"), "{path}");
    }
    let r = buyer.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.headers().get("cross-origin-opener-policy").unwrap(), "same-origin");
    assert_eq!(r.headers().get("cross-origin-resource-policy").unwrap(), "same-origin");
    // Static files keep their own caching.
    let r = buyer.get(app.url("/pkg/quanyi.js")).send().await.unwrap();
    assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-cache");
});

db_test!(a_crowded_or_sold_out_flash_sale_is_answered_from_memory_and_changes_nothing, |t| {
    // The till takes one checkout while another waits; a third is told to try again.
    let app = seed(spawn_configured(&t, Clock::system(), |c| c.till_queue_per_sku = 1).await).await;
    stock(&app, "BREW-1", 3, "CROWD").await;
    let orders = || async {
        use sea_orm::{EntityTrait, PaginatorTrait};
        quanyi::entities::order::Entity::find().count(&app.shop.db).await.unwrap()
    };
    let form = [("sku", "BREW-1"), ("quantity", "1"), ("email", "crowd@example.com"), ("intent", "buy")];
    let no_session = |r: &reqwest::Response| {
        r.headers().get_all(header::SET_COOKIE).iter().all(|c| !c.to_str().unwrap().starts_with("qy_sid="))
    };
    // Stall the database's writers, so a crowd piles up at BREW-1's till: one checkout being
    // rung up (waiting for the write lock), one queued behind it; the rest are told at once
    // to try again.
    let stall = quanyi::platform::db::begin_write(&app.shop.db).await.unwrap();
    if t.backend == quanyi::testing::Backend::Postgres {
        use sea_orm::ConnectionTrait;
        stall.execute_unprepared("LOCK TABLE codes IN EXCLUSIVE MODE").await.unwrap();
    }
    let crowd: Vec<_> = (0..5)
        .map(|_| {
            let (app, buyer) = (app.clone(), client());
            tokio::spawn(async move {
                let r = app.post_form(&buyer, "/api/checkout", &form, "/p/morning-brew-coffee").await;
                (location(&r), no_session(&r), buyer)
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(8);
    while crowd.iter().filter(|c| c.is_finished()).count() < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stall.rollback().await.unwrap();
    let mut answers = vec![];
    for c in crowd {
        answers.push(c.await.unwrap());
    }
    let (busy, bought): (Vec<_>, Vec<_>) = answers.iter().partition(|(to, ..)| to.contains("__err="));
    assert!(busy.len() >= 3 && bought.iter().all(|(to, ..)| to.starts_with("/orders/Q")), "{answers:?}");
    assert!(busy.iter().all(|(_, no_session, _)| *no_session), "a refused checkout writes no session");
    let (back, _, buyer) = busy[0];
    let html = buyer.get(back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("抢购人数太多"), "the busy answer is explained: {back}");
    assert_eq!(orders().await, bought.len() as u64, "only the admitted checkouts made orders");
    let buyer = client();
    // Seen sold out a moment ago: answered from memory, and the product page says so too.
    app.shop.admission.mark_sold_out("BREW-1");
    let r = app.post_form(&buyer, "/api/checkout", &form, "/p/morning-brew-coffee").await;
    let back = location(&r);
    assert!(no_session(&r));
    let html = buyer.get(&back).header(header::COOKIE, "lang=en").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Sorry, this is sold out."), "sold-out answer shown");
    assert_eq!(orders().await, bought.len() as u64, "nothing was created");
    // Stock back in this instance: the flag is gone and the buyer gets the order.
    app.shop.restocked();
    let r = app.post_form(&buyer, "/api/checkout", &form, "/p/morning-brew-coffee").await;
    assert!(location(&r).starts_with("/orders/Q"), "{}", location(&r));
    assert_eq!(orders().await, bought.len() as u64 + 1);
});

db_test!(a_cart_checkout_keeps_its_look_up_password_with_the_order_and_a_bad_one_creates_nothing, |t| {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let app = seeded(&t).await;
    stock(&app, "BREW-1", 2, "CPW").await;
    stock(&app, "BREW-10", 2, "CPWB").await;
    let orders = || async { quanyi::entities::order::Entity::find().count(&app.shop.db).await.unwrap() };
    let buyer = client();
    for sku in ["BREW-1", "BREW-10"] {
        let add = [("sku", sku), ("quantity", "1"), ("intent", "cart")];
        let r = app.post_form(&buyer, "/api/checkout", &add, "/p/morning-brew-coffee").await;
        assert!(!location(&r).contains("__err="), "{}", location(&r));
    }
    let before = orders().await;
    // Too short: refused before anything is written (it once made the order, then failed).
    let form = [("email", "cartpw@example.com"), ("lookup_password", "short")];
    let r = app.post_form(&buyer, "/api/cart/checkout", &form, "/cart").await;
    assert!(location(&r).contains("__err="), "{}", location(&r));
    assert_eq!(orders().await, before, "a refused password creates no order");
    let form = [("email", "cartpw@example.com"), ("lookup_password", "harbor-lamp-9")];
    let r = app.post_form(&buyer, "/api/cart/checkout", &form, "/cart").await;
    let to = location(&r);
    assert!(to.starts_with("/orders/Q"), "{to}");
    let order_no = to.trim_start_matches("/orders/").split(['?', '#']).next().unwrap().to_owned();
    let order = quanyi::orders::by_no(&app.shop.db, &order_no).await.unwrap().unwrap();
    assert!(order.lookup_password_hash.is_some(), "the password was kept with the order");
    // Finding the order by number and contact now needs it.
    let find = |pw| {
        quanyi::orders::lookup_with_password(
            &app.shop.db,
            &app.shop.clock,
            &order_no,
            "cartpw@example.com",
            pw,
            "9.9.9.9",
        )
    };
    assert!(find(None).await.is_err());
    assert_eq!(find(Some("harbor-lamp-9")).await.unwrap().id, order.id);
});

db_test!(a_crowded_cart_checkout_is_told_to_try_again, |t| {
    // A cart of several SKUs takes a seat at each SKU's door (`checkout_concurrency_per_sku`).
    let app = seed(spawn_configured(&t, Clock::system(), |c| c.checkout_concurrency_per_sku = 1).await).await;
    stock(&app, "BREW-1", 1, "CART").await;
    let buyer = client();
    for sku in ["BREW-1", "BREW-10"] {
        let add = [("sku", sku), ("quantity", "1"), ("intent", "cart")];
        let r = app.post_form(&buyer, "/api/checkout", &add, "/p/morning-brew-coffee").await;
        assert!(!location(&r).contains("__err="), "{}", location(&r));
    }
    let seat = app.shop.admission.admit(["BREW-1"]).unwrap();
    let r = app.post_form(&buyer, "/api/cart/checkout", &[("email", "cart@example.com")], "/cart").await;
    let back = location(&r);
    assert!(back.contains("__err="), "{back}");
    let html = buyer.get(&back).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("抢购人数太多"), "the busy answer is explained");
    drop(seat);
});

db_test!(only_the_browser_that_bought_an_order_can_press_its_test_pay_button, |t| {
    // The pay form's check (is this order the visitor's?) is made at the cashier, in the
    // batch that reads the order anyway: a stranger still hears "not found" and pays nothing.
    let app = seeded(&t).await;
    stock(&app, "BREW-1", 2, "PAYER").await;
    let buyer = client();
    let form = [("sku", "BREW-1"), ("quantity", "1"), ("email", "payer@example.com"), ("intent", "buy")];
    let r = app.post_form(&buyer, "/api/checkout", &form, "/p/morning-brew-coffee").await;
    let to = location(&r);
    let order_no = to.strip_prefix("/orders/").expect("an order").to_owned();
    let status = || async { quanyi::orders::by_no(&app.shop.db, &order_no).await.unwrap().unwrap().status };
    let pay = [("order_no", order_no.as_str()), ("attempt", "1")];
    for stranger in [client(), app.http.clone()] {
        let r = app.post_form(&stranger, "/api/pay/test", &pay, &to).await;
        assert!(location(&r).contains("__err="), "a stranger's press is refused: {}", location(&r));
        let body = r.text().await.unwrap();
        assert!(body.contains("order_not_found"), "{body}");
        assert_eq!(status().await, quanyi::orders::Status::PendingPayment, "nothing was paid");
    }
    let r = app.post_form(&buyer, "/api/pay/test", &pay, &to).await;
    assert_eq!(location(&r), to, "the buyer's press pays");
    assert_eq!(status().await, quanyi::orders::Status::Fulfilled);
    // Pressed again (or the post replayed): paid once, the same answer.
    let r = app.post_form(&buyer, "/api/pay/test", &pay, &to).await;
    assert_eq!(location(&r), to);
    assert_eq!(status().await, quanyi::orders::Status::Fulfilled);
});

// A page rendered while the process listed its routes used to wait forever on its first
// resource (leptos_server's process-wide `SuppressResourceLoad`, leptos#4773): this file
// builds a router per test, so about one render in 15,000 here stalled. Routes are now
// listed once per process, before any router serves. This renders every page thousands
// of times, many at once, while other tests build their routers, and fails on any page
// that does not come back whole and in time (there is no second rendering to hide one).
db_test!(every_page_renders_to_the_end_thousands_of_times_at_once, |t| {
    use futures::StreamExt;
    use std::sync::atomic::Ordering;
    let app = seeded(&t).await;
    let owner = client();
    assert_eq!(location(&app.owner(&owner, "boss@example.com").await), "/admin");
    let member = client();
    app.register(&member, "crowd@example.com").await;
    let guest = client();
    let mall = [
        "/",
        "/c/video",
        "/p/morning-brew-coffee",
        "/p/starvideo-vip",
        "/search?q=%E5%92%96%E5%95%A1",
        "/login",
        "/register",
        "/cart",
        "/find-order",
    ];
    let signed_in = ["/account", "/orders", "/messages", "/p/lumen-tv-super"];
    let admin = ["/admin", "/admin/orders", "/admin/catalog", "/admin/inventory", "/admin/staff", "/admin/outbox"];
    let mut requests: Vec<(reqwest::Client, &str)> = vec![];
    for round in 0..160 {
        requests.extend(mall.iter().map(|p| (guest.clone(), *p)));
        requests.extend(signed_in.iter().map(|p| (member.clone(), *p)));
        if round % 2 == 0 {
            requests.extend(admin.iter().map(|p| (owner.clone(), *p)));
        }
    }
    let total = requests.len();
    assert!(total >= 2_000);
    let stalled_before = server::http::guards::STALLED_PAGES.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let answers: Vec<(String, Result<(StatusCode, bool), String>)> = futures::stream::iter(requests)
        .map(|(http, path)| {
            let url = app.url(path);
            async move {
                let outcome = async {
                    let r = http.get(&url).send().await.map_err(|e| e.to_string())?;
                    let status = r.status();
                    let html = r.text().await.map_err(|e| e.to_string())?;
                    Ok((status, html.contains("</html>")))
                };
                let outcome = tokio::time::timeout(std::time::Duration::from_secs(8), outcome)
                    .await
                    .unwrap_or_else(|_| Err("no answer within 8 s".into()));
                (path.to_owned(), outcome)
            }
        })
        .buffer_unordered(24)
        .collect()
        .await;
    let bad: Vec<_> = answers.iter().filter(|(_, a)| !matches!(a, Ok((StatusCode::OK, true)))).take(10).collect();
    assert!(bad.is_empty(), "pages that did not come back whole: {bad:?}");
    assert_eq!(server::http::guards::STALLED_PAGES.load(Ordering::Relaxed), stalled_before);
    eprintln!("{total} pages rendered in {:.1} s, none stalled", started.elapsed().as_secs_f64());
});

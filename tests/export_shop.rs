//! The export against the shop simulator over real HTTP on 127.0.0.1: first run creates
//! categories and products, a second unchanged run writes nothing, changes show up,
//! renamed groups and moved goods are reflected, bad SKUs are reported, dry run writes
//! nothing.

use skladlink::config::ExportSettings;
use skladlink::core::export::{ExportGood, ExportGroup};
use skladlink::core::money::Money;
use skladlink::i18n::Language;
use skladlink::ledger::Ledger;
use skladlink::runner::export::{ExportInput, run_export};
use skladlink::runner::history::{ItemAction, ItemResult};
use skladlink::secrets::Secret;
use skladlink::sim::shop::{ShopSim, ShopSimHandle, SimOptions};
use skladlink::woo::{ClientOptions, WooClient};

fn good(sku: &str, name: &str, cents: i64, qty: i64, group: &str) -> ExportGood {
    ExportGood {
        sku: sku.into(),
        name: name.into(),
        price: Money::from_cents(cents),
        quantity_milli: qty,
        group_code: group.into(),
    }
}

fn groups() -> Vec<ExportGroup> {
    vec![
        ExportGroup {
            code: "001".into(),
            name: "Храни".into(),
        },
        ExportGroup {
            code: "001001".into(),
            name: "Млечни".into(),
        },
        ExportGroup {
            code: "002".into(),
            name: "Напитки & сокове".into(),
        },
    ]
}

fn goods() -> Vec<ExportGood> {
    vec![
        good("BG-001", "Сирене краве 400 г", 899, 12_000, "001001"),
        good("BG-002", "Кисело мляко 2%", 139, 40_500, "001001"),
        good("BG-003", "Минерална вода 1,5 л", 119, 100_000, "002"),
        good("BG-004", "Хляб Добруджа", 179, -2_000, "001"),
    ]
}

async fn start() -> (ShopSimHandle, WooClient) {
    let sim = ShopSim::start(SimOptions::default()).await.unwrap();
    let client = WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        ClientOptions::default(),
    )
    .unwrap();
    (sim, client)
}

fn writes(sim: &ShopSimHandle) -> u64 {
    let s = sim.stats();
    s.by_route
        .iter()
        .filter(|(k, _)| !k.starts_with("GET") && !k.starts_with("HEAD"))
        .map(|(_, v)| *v)
        .sum()
}

fn count(items: &[ItemResult], kind: &str, action: ItemAction) -> usize {
    items
        .iter()
        .filter(|i| i.kind == kind && i.action == action)
        .count()
}

async fn export(
    client: &WooClient,
    links: &Ledger,
    goods: Vec<ExportGood>,
    groups: Vec<ExportGroup>,
    dry: bool,
) -> Vec<ItemResult> {
    export_with(
        client,
        links,
        goods,
        groups,
        dry,
        &ExportSettings::default(),
    )
    .await
}

async fn export_with(
    client: &WooClient,
    links: &Ledger,
    goods: Vec<ExportGood>,
    groups: Vec<ExportGroup>,
    dry: bool,
    settings: &ExportSettings,
) -> Vec<ItemResult> {
    export_until(
        client,
        links,
        input(goods, groups),
        dry,
        settings,
        &Default::default(),
        &|_| {},
    )
    .await
    .0
}

/// What the warehouse gives an export: `goods` in `groups`, in euro.
fn input(goods: Vec<ExportGood>, groups: Vec<ExportGroup>) -> ExportInput {
    ExportInput {
        goods,
        groups,
        skipped: vec![],
        currency: "EUR".into(),
    }
}

/// An export with `stop` as its Stop button; the items and whether Stop ended it.
async fn export_until(
    client: &WooClient,
    links: &Ledger,
    input: ExportInput,
    dry: bool,
    settings: &ExportSettings,
    stop: &skladlink::runner::StopFlag,
    progress: &(dyn Fn(skladlink::runner::progress::Progress) + Send + Sync),
) -> (Vec<ItemResult>, bool) {
    let config = skladlink::config::AppConfig::default();
    let server = skladlink::config::ServerDef::new(
        skladlink::config::ServerId("s1".into()),
        "Експорт".into(),
        skladlink::config::ServerType::Export,
    );
    let secrets =
        skladlink::secrets::Secrets::with_keyring(skladlink::secrets::KeyringStore::in_memory());
    let env = skladlink::runner::jobs::JobEnv {
        config: &config,
        server: &server,
        secrets: &secrets,
        ledger: links,
        lang: Language::Bg,
        dry_run: dry,
        stop,
        progress,
    };
    run_export(client, input, &env, settings).await.unwrap()
}

#[tokio::test]
async fn first_run_creates_everything_and_a_second_run_writes_nothing() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();

    let items = export(&client, &links, goods(), groups(), false).await;
    assert_eq!(
        count(&items, "category", ItemAction::Created),
        3,
        "{items:#?}"
    );
    assert_eq!(
        count(&items, "product", ItemAction::Created),
        4,
        "{items:#?}"
    );
    {
        let state = sim.state();
        let p = state.product_by_sku("BG-002").expect("created");
        assert_eq!(p["regular_price"], "1.39");
        assert_eq!(p["stock_quantity"], 40, "40.5 units are sent as 40");
        assert_eq!(p["manage_stock"], true);
        assert_eq!(p["status"], "publish");
        let bread = state.product_by_sku("BG-004").unwrap();
        assert_eq!(bread["stock_quantity"], 0, "negative stock is sent as 0");
    }
    let first_writes = writes(&sim);
    assert!(first_writes > 0);

    let items = export(&client, &links, goods(), groups(), false).await;
    assert!(items.is_empty(), "nothing to do: {items:#?}");
    assert_eq!(
        writes(&sim),
        first_writes,
        "the second run sent no write request"
    );
}

#[tokio::test]
async fn changes_renames_and_moves_are_reflected() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    export(&client, &links, goods(), groups(), false).await;

    let mut changed = goods();
    changed[0].price = Money::from_cents(949); // price
    changed[1].name = "Кисело мляко 3,6%".into(); // rename
    changed[2].group_code = "001".into(); // moved to another group
    changed[3].quantity_milli = 7_900; // stock
    let mut renamed = groups();
    renamed[1].name = "Млечни продукти".into(); // group renamed
    let items = export(&client, &links, changed.clone(), renamed.clone(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        4,
        "{items:#?}"
    );
    assert_eq!(
        count(&items, "category", ItemAction::Updated),
        1,
        "{items:#?}"
    );
    assert_eq!(
        count(&items, "category", ItemAction::Created),
        0,
        "no duplicate category"
    );
    assert!(
        detail_of(&items, "BG-001")
            .iter()
            .any(|d| d.contains("8.99 EUR → 9.49 EUR")),
        "amounts say their currency: {items:#?}"
    );

    {
        let state = sim.state();
        let cheese = state.product_by_sku("BG-001").unwrap();
        assert_eq!(cheese["regular_price"], "9.49");
        let yogurt = state.product_by_sku("BG-002").unwrap();
        assert_eq!(yogurt["name"], "Кисело мляко 3,6%");
        let water = state.product_by_sku("BG-003").unwrap();
        let water_cats: Vec<String> = water["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(water_cats, vec!["Храни"]);
        let bread = state.product_by_sku("BG-004").unwrap();
        assert_eq!(bread["stock_quantity"], 7);
        let dairy = cheese["categories"][0]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(dairy, "Млечни продукти");
    }

    let again = export(&client, &links, changed, renamed, false).await;
    assert!(again.is_empty(), "{again:#?}");
}

#[tokio::test]
async fn bad_skus_are_reported_and_dry_run_writes_nothing() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    let mut list = goods();
    list.push(good("", "Без код", 100, 1_000, "002"));
    list.push(good("bg-001", "Двойник", 100, 1_000, "002"));

    let dry = export(&client, &links, list.clone(), groups(), true).await;
    assert_eq!(writes(&sim), 0, "dry run wrote nothing");
    assert_eq!(count(&dry, "product", ItemAction::WouldCreate), 3);
    assert_eq!(count(&dry, "category", ItemAction::WouldCreate), 3);
    assert_eq!(
        count(&dry, "product", ItemAction::Skipped),
        3,
        "empty + both duplicates: {dry:#?}"
    );
    assert!(
        dry.iter()
            .any(|i| i.action == ItemAction::Skipped && i.detail.contains("Двойник"))
    );

    let real = export(&client, &links, list, groups(), false).await;
    assert_eq!(count(&real, "product", ItemAction::Created), 3);
    assert!(
        sim.state().product_by_sku("BG-001").is_none(),
        "a duplicated SKU is never sent"
    );
}

#[tokio::test]
async fn products_the_shop_already_has_are_adopted_not_duplicated_and_never_deleted() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    // The shop owner already made one product by hand and one SkladLink does not know.
    client
        .create_product(&skladlink::woo::ProductWrite {
            name: Some("Сирене".into()),
            sku: Some("BG-001".into()),
            regular_price: Some(Money::from_cents(100)),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .create_product(&skladlink::woo::ProductWrite {
            name: Some("Подаръчна карта".into()),
            sku: Some("GIFT".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let items = export(&client, &links, goods(), groups(), false).await;
    assert_eq!(count(&items, "product", ItemAction::Updated), 1);
    assert_eq!(count(&items, "product", ItemAction::Created), 3);
    let state = sim.state();
    assert_eq!(state.product_count(), 5);
    assert!(state.product_by_sku("GIFT").is_some());
    assert_eq!(
        state.product_by_sku("BG-001").unwrap()["regular_price"],
        "8.99"
    );
}

/// A client with a short request timeout and quick retries.
fn impatient_client(sim: &ShopSimHandle, timeout: std::time::Duration) -> WooClient {
    let mut opts = ClientOptions {
        request_timeout: timeout,
        ..ClientOptions::default()
    };
    opts.retry.base_delay = std::time::Duration::from_millis(20);
    WooClient::new(
        sim.url(),
        &Secret::new(sim.consumer_key()),
        &Secret::new(sim.consumer_secret()),
        opts,
    )
    .unwrap()
}

async fn until_the_shop_is_done(sim: &ShopSimHandle) {
    for _ in 0..200 {
        if !sim.state().batch_running() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the simulated batch never finished");
}

fn product_id(sim: &ShopSimHandle, sku: &str) -> u64 {
    sim.state().product_by_sku(sku).expect(sku)["id"]
        .as_u64()
        .unwrap()
}

fn detail_of<'a>(items: &'a [ItemResult], key: &str) -> Vec<&'a str> {
    items
        .iter()
        .filter(|i| i.key == key)
        .map(|i| i.detail.as_str())
        .collect()
}

#[tokio::test]
async fn names_the_shop_normalizes_are_written_once_and_edits_by_hand_are_put_back() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    let groups = vec![ExportGroup {
        code: "001".into(),
        name: "Mouse  Pointing Devices".into(),
    }];
    let goods = vec![
        good("HN-1", "Мед <био>", 1250, 3_000, "001"),
        good("HN-2", "Мишка   безжична ", 2500, 5_000, "001"),
    ];
    export(&client, &links, goods.clone(), groups.clone(), false).await;
    {
        let state = sim.state();
        assert_eq!(state.product_by_sku("HN-1").unwrap()["name"], "Мед");
        assert_eq!(
            state.product_by_sku("HN-2").unwrap()["name"],
            "Мишка безжична"
        );
    }
    // Unchanged runs: nothing written, however the shop stored the names.
    for _ in 0..2 {
        sim.faults().reset_stats();
        let items = export(&client, &links, goods.clone(), groups.clone(), false).await;
        assert!(items.is_empty(), "{items:#?}");
        assert_eq!(writes(&sim), 0, "{:?}", sim.stats().by_route);
    }
    // An edit by hand in the shop is put back, once.
    let id = product_id(&sim, "HN-1");
    let edit: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"regular_price": "1.00"}"#).unwrap();
    assert!(sim.state().update_product(id, &edit).status < 300);
    sim.faults().reset_stats();
    let items = export(&client, &links, goods.clone(), groups.clone(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        1,
        "{items:#?}"
    );
    assert_eq!(writes(&sim), 1);
    assert_eq!(sim.state().product(id).unwrap()["regular_price"], "12.50");
    // A change in the warehouse is sent; then quiet again.
    let mut changed = goods.clone();
    changed[1].quantity_milli = 4_000;
    let items = export(&client, &links, changed.clone(), groups.clone(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        1,
        "{items:#?}"
    );
    sim.faults().reset_stats();
    assert!(
        export(&client, &links, changed, groups, false)
            .await
            .is_empty()
    );
    assert_eq!(writes(&sim), 0);
}

#[tokio::test]
async fn the_owners_draft_stays_a_draft_and_a_trashed_product_is_not_created_again() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    export(&client, &links, goods(), groups(), false).await;
    let draft = product_id(&sim, "BG-001");
    let trashed = product_id(&sim, "BG-003");
    let to_draft: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"status": "draft"}"#).unwrap();
    assert!(sim.state().update_product(draft, &to_draft).status < 300);
    assert!(sim.state().delete_product(trashed, false).status < 300);

    sim.faults().reset_stats();
    let items = export(&client, &links, goods(), groups(), false).await;
    assert_eq!(writes(&sim), 0, "{items:#?}");
    assert_eq!(sim.state().product(draft).unwrap()["status"], "draft");
    assert!(
        sim.state().product_by_sku("BG-003").is_none(),
        "not re-created"
    );
    let trash_lines = detail_of(&items, "BG-003");
    assert_eq!(trash_lines.len(), 1, "{items:#?}");
    assert!(trash_lines[0].contains("кошчето"), "{trash_lines:?}");
    assert!(trash_lines[0].contains(&format!("#{trashed}")));

    // A price change updates the draft without publishing it.
    let mut changed = goods();
    changed[0].price = Money::from_cents(999);
    let items = export(&client, &links, changed.clone(), groups(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        1,
        "{items:#?}"
    );
    let p = sim.state().product(draft).unwrap();
    assert_eq!(
        (p["status"].as_str(), p["regular_price"].as_str()),
        (Some("draft"), Some("9.99"))
    );

    // With "restore from the trash" the trashed product comes back, published.
    let settings = ExportSettings {
        restore_trashed: true,
        ..ExportSettings::default()
    };
    let items = export_with(&client, &links, changed, groups(), false, &settings).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        1,
        "{items:#?}"
    );
    let back = sim.state().product(trashed).unwrap();
    assert_eq!(back["status"], "publish");
    assert_eq!(sim.state().products_with_sku("BG-003"), vec![trashed]);
}

#[tokio::test]
async fn a_create_batch_that_outlives_the_timeout_leaves_one_product_per_sku() {
    let (sim, _) = start().await;
    {
        let mut st = sim.state();
        st.wc_version = skladlink::sim::shop::WcVersion::V7_9;
        st.product_batch_hold = std::time::Duration::from_millis(1_500);
    }
    let client = impatient_client(&sim, std::time::Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    let items = export(&client, &links, goods(), groups(), false).await;
    let unknown: Vec<&ItemResult> = items
        .iter()
        .filter(|i| i.kind == "product" && i.detail.contains("неизвестен"))
        .collect();
    assert_eq!(unknown.len(), 4, "{items:#?}");
    assert!(unknown.iter().all(|i| i.action == ItemAction::Failed));
    assert_eq!(
        sim.stats().count("POST products/batch"),
        1,
        "the creates were sent once"
    );
    // Run again while the shop is still working: nothing is created again.
    let items = export(&client, &links, goods(), groups(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Created),
        0,
        "{items:#?}"
    );
    assert_eq!(sim.stats().count("POST products/batch"), 1);
    until_the_shop_is_done(&sim).await;
    // Once the shop finished: one product per SKU, found and settled, nothing to write.
    let items = export(&client, &links, goods(), groups(), false).await;
    assert!(items.is_empty(), "{items:#?}");
    for g in goods() {
        assert_eq!(sim.state().products_with_sku(&g.sku).len(), 1, "{}", g.sku);
    }
}

fn many_goods(prefix: &str, n: usize) -> Vec<ExportGood> {
    (0..n)
        .map(|i| {
            good(
                &format!("{prefix}-{i}"),
                &format!("Стока {i}"),
                100 + i as i64,
                1_000,
                "002",
            )
        })
        .collect()
}

#[tokio::test]
async fn two_exports_at_once_on_a_7_9_shop_end_with_one_product_per_sku() {
    let (sim, client) = start().await;
    {
        let mut st = sim.state();
        st.wc_version = skladlink::sim::shop::WcVersion::V7_9;
        st.product_batch_hold = std::time::Duration::from_millis(300);
    }
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (l1, l2) = (
        Ledger::open(d1.path()).unwrap(),
        Ledger::open(d2.path()).unwrap(),
    );
    let goods = many_goods("TW", 30);
    tokio::join!(
        export(&client, &l1, goods.clone(), groups(), false),
        export(&client, &l2, goods.clone(), groups(), false)
    );
    until_the_shop_is_done(&sim).await;
    let doubled = goods
        .iter()
        .filter(|g| sim.state().products_with_sku(&g.sku).len() > 1)
        .count();
    assert!(
        doubled > 0,
        "the 7.9 shop made duplicates, as a real one does"
    );
    // The next run of each reconciles: the export whose own product is the younger twin
    // withdraws it; the other reports what it saw and deletes nothing.
    let first = export(&client, &l1, goods.clone(), groups(), false).await;
    let second = export(&client, &l2, goods.clone(), groups(), false).await;
    for g in &goods {
        assert_eq!(sim.state().products_with_sku(&g.sku).len(), 1, "{}", g.sku);
    }
    let withdrawn = first
        .iter()
        .chain(&second)
        .filter(|i| i.action == ItemAction::Updated && i.detail.starts_with("Двойник"))
        .count();
    assert_eq!(withdrawn, doubled, "{first:#?} {second:#?}");
    assert!(
        first
            .iter()
            .chain(&second)
            .all(|i| i.action != ItemAction::Failed)
    );
    // And then both are quiet.
    sim.faults().reset_stats();
    assert!(
        export(&client, &l1, goods.clone(), groups(), false)
            .await
            .is_empty()
    );
    assert!(
        export(&client, &l2, goods, groups(), false)
            .await
            .is_empty()
    );
    assert_eq!(writes(&sim), 0);
}

#[tokio::test]
async fn two_exports_at_once_on_a_10_shop_fail_no_item() {
    let (sim, client) = start().await;
    {
        let mut st = sim.state();
        st.wc_version = skladlink::sim::shop::WcVersion::V10;
        st.product_batch_hold = std::time::Duration::from_millis(300);
    }
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (l1, l2) = (
        Ledger::open(d1.path()).unwrap(),
        Ledger::open(d2.path()).unwrap(),
    );
    let shared = many_goods("TEN", 10);
    let mut more = shared.clone();
    more.extend(many_goods("OWN", 10));
    let (a, b) = tokio::join!(
        export(&client, &l1, shared.clone(), groups(), false),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            export(&client, &l2, more.clone(), groups(), false).await
        }
    );
    until_the_shop_is_done(&sim).await;
    assert!(
        a.iter().chain(&b).all(|i| i.action != ItemAction::Failed),
        "{a:#?} {b:#?}"
    );
    for g in &more {
        assert_eq!(sim.state().products_with_sku(&g.sku).len(), 1, "{}", g.sku);
    }
    // The SKUs the other export was creating were looked up and updated, not failed.
    let taken = b
        .iter()
        .filter(|i| i.key.starts_with("TEN") && i.action == ItemAction::Updated)
        .count();
    assert_eq!(taken, 10, "{b:#?}");
}

#[tokio::test]
async fn bad_prices_are_refused_and_control_characters_removed() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    let list = vec![
        good("NEG", "Минус", -500, 1_000, "002"),
        good("ZERO", "Подарък", 0, 1_000, "002"),
        good("NUL", "Мляко\0 прясно", 150, 1_000, "002"),
    ];
    let items = export(&client, &links, list.clone(), groups(), false).await;
    assert!(sim.state().product_by_sku("NEG").is_none());
    assert!(sim.state().product_by_sku("ZERO").is_none());
    assert!(detail_of(&items, "NEG")[0].contains("-5.00"), "{items:#?}");
    assert!(
        detail_of(&items, "ZERO")[0].contains("цена 0"),
        "{items:#?}"
    );
    assert_eq!(
        sim.state().product_by_sku("NUL").unwrap()["name"],
        "Мляко прясно"
    );
    assert!(detail_of(&items, "NUL")[0].contains("управляващи знаци"));
    let free = ExportSettings {
        allow_zero_price: true,
        ..ExportSettings::default()
    };
    export_with(&client, &links, list, groups(), false, &free).await;
    assert_eq!(
        sim.state().product_by_sku("ZERO").unwrap()["regular_price"],
        "0.00"
    );
}

fn reads(sim: &ShopSimHandle) -> u64 {
    let s = sim.stats();
    s.requests - writes(sim)
}

#[tokio::test]
async fn unchanged_runs_read_only_what_changed_and_still_see_edits_trash_and_deletes() {
    let (sim, client) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let links = Ledger::open(dir.path()).unwrap();
    let goods = many_goods("INC", 250);
    export(&client, &links, goods.clone(), groups(), false).await;
    // The next run lists what changed since the first one began: its own creates.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert!(
        export(&client, &links, goods.clone(), groups(), false)
            .await
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    sim.faults().reset_stats();
    assert!(
        export(&client, &links, goods.clone(), groups(), false)
            .await
            .is_empty()
    );
    assert_eq!(writes(&sim), 0);
    assert_eq!(
        reads(&sim),
        3,
        "modified products, modified trash, categories: {:?}",
        sim.stats().by_route
    );
    // Ten goods change in the warehouse: one batch, the listings stay small.
    let mut changed = goods.clone();
    for g in changed.iter_mut().take(10) {
        g.price += Money::from_cents(50);
    }
    sim.faults().reset_stats();
    let items = export(&client, &links, changed.clone(), groups(), false).await;
    assert_eq!(
        count(&items, "product", ItemAction::Updated),
        10,
        "{items:#?}"
    );
    assert_eq!(sim.stats().count("POST products/batch"), 1);
    assert_eq!(reads(&sim), 3);
    // An edit by hand, a product moved to the trash, one deleted for good.
    let edited = product_id(&sim, "INC-20");
    let trashed = product_id(&sim, "INC-21");
    let gone = product_id(&sim, "INC-22");
    let edit: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"name": "Ръчно"}"#).unwrap();
    assert!(sim.state().update_product(edited, &edit).status < 300);
    assert!(sim.state().delete_product(trashed, false).status < 300);
    assert!(sim.state().delete_product(gone, true).status < 300);
    let items = export(&client, &links, changed.clone(), groups(), false).await;
    assert_eq!(
        sim.state().product(edited).unwrap()["name"],
        "Стока 20",
        "{items:#?}"
    );
    assert!(
        detail_of(&items, "INC-21")[0].contains("кошчето"),
        "{items:#?}"
    );
    // The trashed one is remembered as trashed by the runs that no longer list it.
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    let items = export(&client, &links, changed.clone(), groups(), false).await;
    assert!(
        detail_of(&items, "INC-21")[0].contains("кошчето"),
        "{items:#?}"
    );
    assert!(
        sim.state().product_by_sku("INC-21").is_none(),
        "not re-created"
    );
    // The one deleted for good comes back (found missing when it needed a write, or by
    // the daily full read).
    let full = ExportSettings {
        full_read_hours: 0,
        ..ExportSettings::default()
    };
    sim.faults().reset_stats();
    let items = export_with(&client, &links, changed, groups(), false, &full).await;
    assert!(sim.state().product_by_sku("INC-22").is_some(), "{items:#?}");
    assert!(reads(&sim) >= 4, "a full read lists every page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_while_batches_are_in_flight_leaves_no_create_in_doubt() {
    use skladlink::core::export::LinkOrigin;
    let (sim, client) = start().await;
    sim.faults()
        .set_latency(std::time::Duration::from_millis(100));
    // Stop lands at different points after the first answer of the products' window:
    // while batches are out and the next one waits ready for a free place.
    for (round, delay_ms) in [0u64, 40, 80, 150].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let links = Ledger::open(dir.path()).unwrap();
        let prefix = format!("STOP{round}");
        let stop = skladlink::runner::StopFlag::default();
        let settings = ExportSettings::default();
        let first_answer = std::sync::OnceLock::new();
        let progress = |p: skladlink::runner::progress::Progress| {
            if p.stage == skladlink::runner::progress::Stage::Products && p.done > 0 {
                let _ = first_answer.set(std::time::Instant::now());
            }
        };
        let ((_, stopped), ()) = tokio::join!(
            export_until(
                &client,
                &links,
                input(many_goods(&prefix, 1_500), groups()),
                false,
                &settings,
                &stop,
                &progress,
            ),
            async {
                let delay = std::time::Duration::from_millis(delay_ms);
                while first_answer.get().is_none_or(|t| t.elapsed() < delay) {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                stop.set();
            }
        );
        assert!(stopped, "Stop ended the export");
        let in_shop = (0..1_500)
            .filter(|i| {
                sim.state()
                    .product_by_sku(&format!("{prefix}-{i}"))
                    .is_some()
            })
            .count();
        assert!(in_shop < 1_500, "stopped before the end: {in_shop}");
        let remembered = links.product_links("s1").unwrap();
        let in_doubt = remembered
            .values()
            .filter(|l| l.origin == LinkOrigin::Unknown)
            .count();
        assert_eq!(
            in_doubt, 0,
            "no create left in doubt after Stop at {delay_ms} ms"
        );
        assert_eq!(
            remembered.values().filter(|l| l.product_id > 0).count(),
            in_shop,
            "every product created is remembered, nothing else"
        );
        // The next run creates the rest, one product per SKU.
        let items = export(&client, &links, many_goods(&prefix, 1_500), groups(), false).await;
        assert_eq!(
            count(&items, "product", ItemAction::Created),
            1_500 - in_shop
        );
    }
}

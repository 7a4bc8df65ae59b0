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
    let input = ExportInput {
        goods,
        groups,
        skipped: vec![],
    };
    let config = skladlink::config::AppConfig::default();
    let server = skladlink::config::ServerDef::new(
        skladlink::config::ServerId("s1".into()),
        "Експорт".into(),
        skladlink::config::ServerType::Export,
    );
    let secrets =
        skladlink::secrets::Secrets::with_keyring(skladlink::secrets::KeyringStore::in_memory());
    let stop = skladlink::runner::StopFlag::default();
    let env = skladlink::runner::jobs::JobEnv {
        config: &config,
        server: &server,
        secrets: &secrets,
        ledger: links,
        lang: Language::Bg,
        dry_run: dry,
        stop: &stop,
        progress: &|_| {},
    };
    run_export(client, input, &env, settings).await.unwrap().0
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

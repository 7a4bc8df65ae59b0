//! Warehouse adapter against real databases through real ODBC drivers: every test runs
//! on MariaDB (MariaDB Unicode driver) and on SQLite (SQLite3 driver), each time on a
//! fresh database loaded from the bundled Warehouse Pro schema fixture.
//!
//! MariaDB comes from `SKLADLINK_TEST_MARIADB` (set by `eval "$(bash .ci/mariadb.sh start)"`,
//! which `bash .ci/run` does); without it these tests fail on purpose.

mod common;

use common::{Backend, TestDb};

use skladlink::config::{DocumentType, GoodsStatus, InvalidGoods, KeyField};
use skladlink::core::money::{Money, Qty, parse_stored};
use skladlink::warehouse::{
    DemoSpec, Dialect, DocLine, GoodsQuery, NewDocument, PartnerData, PaymentInfo, PaymentMethod,
    ShippingLine, SkuProblem, Table, UnpRecord, Warehouse, WarehouseError, WriteOptions,
    WriteOutcome, list_odbc, populate_demo,
};

/// Runs `f` on a fresh SQLite database and on a fresh MariaDB database.
fn on_both(f: impl Fn(&TestDb)) {
    for backend in [Backend::Sqlite, Backend::MariaDb] {
        let db = TestDb::new(backend);
        f(&db);
    }
}

/// Every row as cleaned text.
fn rows(wh: &Warehouse, sql: &str) -> Vec<Vec<String>> {
    wh.query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| c.map(|s| s.trim().to_string()).unwrap_or_default())
                .collect()
        })
        .collect()
}

fn count(wh: &Warehouse, table: Table, condition: &str) -> i64 {
    wh.query_i64(
        &format!("SELECT COUNT(*) FROM {} WHERE {condition}", wh.t(table)),
        &[],
    )
    .unwrap()
    .unwrap()
}

/// Decimal text to an integer scaled by 10^4 (DOUBLE columns compared exactly enough).
fn d4(text: &str) -> i64 {
    parse_stored(text, 4).unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

fn run(wh: &Warehouse, sql: &str) {
    wh.exec(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn ivan() -> PartnerData {
    PartnerData {
        name: "Иван Петров".into(),
        email: "ivan@example.com".into(),
        phone: "0888123456".into(),
        city: "София".into(),
        address: "ул. Примерна 1".into(),
        ..PartnerData::default()
    }
}

fn sale(order: &str) -> NewDocument {
    NewDocument {
        order_number: order.into(),
        doc_type: DocumentType::Sale,
        object_id: 2,
        partner: ivan(),
        lines: vec![
            DocLine {
                sku: "1001".into(),
                name: "Вода".into(),
                qty: 3,
                unit_price: Money::from_cents(90),
            },
            DocLine {
                sku: "1002".into(),
                name: "Сок".into(),
                qty: 1,
                unit_price: Money::from_cents(240),
            },
        ],
        shipping: None,
        payment: PaymentInfo {
            method: PaymentMethod::Card,
            paid: true,
        },
        unp: None,
    }
}

fn skus(wh: &Warehouse, q: &GoodsQuery) -> Vec<String> {
    wh.read_goods(q)
        .unwrap()
        .goods
        .into_iter()
        .map(|g| g.sku)
        .collect()
}

/// The (OperType, number, unknown SKUs) of a new document, which was written for a real
/// partner (not the default one).
fn created(out: WriteOutcome) -> (i64, i64, Vec<String>) {
    let WriteOutcome::Created {
        oper_type,
        acct,
        unknown_skus,
        partner_id,
    } = out
    else {
        panic!("{out:?}")
    };
    assert!(partner_id > 1, "a real partner, not the default one");
    (oper_type, acct, unknown_skus)
}

// ------------------------------------------------------------------ connection

#[test]
fn info_reports_version_dialect_and_vat_mode() {
    on_both(|db| {
        let wh = db.connect();
        let expected = match db.backend {
            Backend::MariaDb => Dialect::MySql,
            Backend::Sqlite => Dialect::Sqlite,
        };
        assert_eq!(wh.dialect(), expected);
        let info = wh.info().unwrap();
        assert_eq!(info.version, "3.07");
        assert!(info.prices_include_vat);
        assert!(!info.numbering_per_object);
        assert!(!info.supports_supto());
        run(
            &wh,
            &format!("UPDATE {} SET Version = '3.07.100'", wh.t(Table::System)),
        );
        run(
            &wh,
            &format!(
                "UPDATE {} SET Value = '0' WHERE {} = 'configkey20'",
                wh.t(Table::Configuration),
                wh.q("Key")
            ),
        );
        let info = wh.info().unwrap();
        assert!(info.supports_supto());
        assert!(!info.prices_include_vat);
    });
}

#[test]
fn check_uses_the_saved_settings_and_keeps_the_password_out() {
    use skladlink::config::{DatabaseConfig, DbConnectMode};
    use skladlink::secrets::Secret;
    on_both(|db| {
        let config = DatabaseConfig {
            mode: DbConnectMode::ConnectionString,
            connection_string: db.cs.clone(),
            dsn: String::new(),
            user: String::new(),
            timeout_secs: 30,
            ..DatabaseConfig::default()
        };
        let info = skladlink::warehouse::check(&config, None).unwrap();
        assert_eq!(info.version, "3.07");
        assert!(info.prices_include_vat);
        // The UI's connection check reads the same version.
        let probed = skladlink::warehouse::probe::probe(&config, None).unwrap();
        assert_eq!(probed.version, "3.07");
        assert!(!probed.supports_supto());
    });
    let config = DatabaseConfig {
        mode: DbConnectMode::ConnectionString,
        connection_string: "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3307;".into(),
        dsn: String::new(),
        user: "nobody".into(),
        timeout_secs: 30,
        ..DatabaseConfig::default()
    };
    let secret = Secret::new("p4ss-w0rd-xyz".to_string());
    let err = skladlink::warehouse::check(&config, Some(&secret)).unwrap_err();
    assert!(matches!(err, WarehouseError::Connect(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("p4ss-w0rd-xyz"));
    assert_eq!(
        skladlink::warehouse::check(&DatabaseConfig::default(), None).unwrap_err(),
        WarehouseError::NotConfigured
    );
}

#[test]
fn odbc_catalog_lists_installed_drivers() {
    let catalog = list_odbc().unwrap();
    assert!(
        catalog.drivers.iter().any(|d| d == "SQLite3"),
        "{catalog:?}"
    );
    assert!(
        catalog.drivers.iter().any(|d| d == "MariaDB Unicode"),
        "{catalog:?}"
    );
}

#[test]
fn bad_connection_gives_typed_error_without_password() {
    let err = Warehouse::connect(
        "Driver={MariaDB Unicode};Server=127.0.0.1;Port=1;User=x;Password=s3cr3t-pw",
    )
    .unwrap_err();
    assert!(matches!(err, WarehouseError::Connect(_)), "{err:?}");
    let err = Warehouse::connect("").unwrap_err();
    assert_eq!(err, WarehouseError::NotConfigured);
    assert!(!err.message(skladlink::i18n::Language::Bg).is_empty());
}

#[test]
fn cyrillic_round_trips() {
    on_both(|db| {
        let mut wh = db.connect();
        let name = "Чай „Зелен“ — ЖЩЪЮЯ ѝ";
        run(
            &wh,
            &format!(
                "UPDATE {} SET Name = '{name}' WHERE ID = 2",
                wh.t(Table::Goods)
            ),
        );
        let goods = wh.read_goods(&GoodsQuery::default()).unwrap().goods;
        assert_eq!(goods[0].name, name);
        assert_eq!(goods[0].group_path, vec!["Напитки", "Безалкохолни"]);
        let mut doc = sale("WEB#Ж1");
        doc.partner.name = "Пенка Жекова-Щерева".into();
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        let r = rows(
            &wh,
            &format!(
                "SELECT Company, City FROM {} WHERE eMail = 'ivan@example.com'",
                wh.t(Table::Partners)
            ),
        );
        assert_eq!(
            r,
            vec![vec!["Пенка Жекова-Щерева".to_string(), "София".to_string()]]
        );
        assert_eq!(wh.find_document_by_note("WEB#Ж1").unwrap(), Some((2, 1)));
    });
}

// ------------------------------------------------------------------ reading

#[test]
fn groups_objects_and_vat_groups() {
    on_both(|db| {
        let wh = db.connect();
        let gg = wh.t(Table::GoodsGroups);
        run(
            &wh,
            &format!(
                "INSERT INTO {gg} (Name, Code) VALUES ('Сокове','AAAAAAAAA'),('Храни','AAB'),('Млечни','AABAAA')"
            ),
        );
        let tree = wh.goods_groups().unwrap();
        assert_eq!(tree.len(), 2, "{tree:?}");
        assert_eq!(tree[0].name, "Напитки");
        assert_eq!(tree[0].children[0].name, "Безалкохолни");
        assert_eq!(tree[0].children[0].children[0].name, "Сокове");
        assert_eq!(tree[1].name, "Храни");
        assert_eq!(tree[1].children[0].code, "AABAAA");
        // The service group '-1' is not offered.
        assert!(tree.iter().all(|g| g.code != "-1"));

        let objects = wh.objects().unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].name, "Онлайн магазин");
        assert_eq!(objects[0].group_id, 1);
        let og = wh.object_groups().unwrap();
        assert_eq!(og[0].id, 1);

        let vat = wh.vat_groups().unwrap();
        let rates: Vec<(i64, u32)> = vat.iter().map(|v| (v.id, v.rate_bp)).collect();
        assert_eq!(rates, vec![(1, 2000), (2, 900), (3, 0)]);
        assert_eq!(vat[0].name, "Основна ДДС група");
    });
}

#[test]
fn read_skips_service_and_deleted_goods() {
    on_both(|db| {
        let wh = db.connect();
        let snap = wh.read_goods(&GoodsQuery::default()).unwrap();
        let ids: Vec<i64> = snap.goods.iter().map(|g| g.id).collect();
        assert_eq!(
            ids,
            vec![2, 3],
            "service good 1 and deleted good 4 are left out"
        );
        assert!(snap.invalid.is_empty());
        let water = &snap.goods[0];
        assert_eq!(water.sku, "1001");
        assert_eq!(water.name, "Вода 0.5 л");
        assert_eq!(water.price, Money::from_cents(90));
        assert_eq!(water.vat_rate_bp, 2000);
        assert_eq!(water.stock, Qty::units(100));
        assert_eq!(snap.goods[1].stock, Qty::units(20));
    });
}

#[test]
fn every_key_field_gives_the_sku() {
    on_both(|db| {
        let wh = db.connect();
        let goods = wh.t(Table::Goods);
        for key in KeyField::ALL {
            let col = key.column();
            run(
                &wh,
                &format!("UPDATE {goods} SET {col} = '{col}-A' WHERE ID = 2"),
            );
            run(
                &wh,
                &format!("UPDATE {goods} SET {col} = ' {col}-B ' WHERE ID = 3"),
            );
        }
        for key in KeyField::ALL {
            let q = GoodsQuery {
                key_field: key,
                ..GoodsQuery::default()
            };
            let col = key.column();
            assert_eq!(skus(&wh, &q), vec![format!("{col}-A"), format!("{col}-B")]);
        }
        // The writer finds goods by the same key field (spaces and case ignored).
        let mut wh = wh;
        for key in KeyField::ALL {
            let col = key.column();
            let mut doc = sale(&format!("WEB#K-{col}"));
            doc.doc_type = DocumentType::Order;
            doc.lines[0].sku = format!("{col}-B").to_uppercase();
            doc.lines.truncate(1);
            let opts = WriteOptions {
                key_field: key,
                invalid_goods: InvalidGoods::SkipOrder,
                ..WriteOptions::default()
            };
            wh.write_document(&doc, &opts).unwrap();
            assert_eq!(
                count(
                    &wh,
                    Table::Operations,
                    &format!("Note = 'WEB#K-{col}' AND GoodID = 3")
                ),
                1
            );
        }
        // BarCode3 may hold a comma-separated list: its first entry is the SKU.
        run(
            &wh,
            &format!("UPDATE {goods} SET BarCode3 = '380111, 380222' WHERE ID = 2"),
        );
        let q = GoodsQuery {
            key_field: KeyField::BarCode3,
            ..GoodsQuery::default()
        };
        assert_eq!(skus(&wh, &q), vec!["380111", "BarCode3-B"]);
        let mut doc = sale("WEB#K-list");
        doc.lines[0].sku = "380111".into();
        doc.lines.truncate(1);
        let opts = WriteOptions {
            key_field: KeyField::BarCode3,
            invalid_goods: InvalidGoods::SkipOrder,
            ..WriteOptions::default()
        };
        wh.write_document(&doc, &opts).unwrap();
        assert_eq!(
            count(&wh, Table::Operations, "Note = 'WEB#K-list' AND GoodID = 2"),
            1
        );
    });
}

#[test]
fn empty_and_duplicate_skus_are_reported_not_returned() {
    on_both(|db| {
        let wh = db.connect();
        let goods = wh.t(Table::Goods);
        // Good 3 gets the same code as good 2 (case differs); a new good has an empty code.
        run(
            &wh,
            &format!("UPDATE {goods} SET Code = 'A-1' WHERE ID = 2"),
        );
        run(
            &wh,
            &format!("UPDATE {goods} SET Code = 'a-1' WHERE ID = 3"),
        );
        run(
            &wh,
            &format!(
                "INSERT INTO {goods} (Code, Name, TaxGroup, GroupID, Deleted, PriceOut2) \
                 VALUES (' ', 'Без код', 1, 3, 0, 1.5), ('B-2', 'Хляб', 1, 3, 0, 1.2)"
            ),
        );
        let snap = wh.read_goods(&GoodsQuery::default()).unwrap();
        assert_eq!(
            snap.goods
                .iter()
                .map(|g| g.sku.as_str())
                .collect::<Vec<_>>(),
            vec!["B-2"]
        );
        let invalid: Vec<(String, SkuProblem)> = snap
            .invalid
            .iter()
            .map(|g| (g.name.clone(), g.problem))
            .collect();
        assert_eq!(
            invalid,
            vec![
                ("Вода 0.5 л".to_string(), SkuProblem::Duplicate),
                ("Сок 1 л".to_string(), SkuProblem::Duplicate),
                ("Без код".to_string(), SkuProblem::Empty),
            ]
        );
    });
}

#[test]
fn status_filters() {
    on_both(|db| {
        let wh = db.connect();
        let goods = wh.t(Table::Goods);
        // Fixture: good 2 IsVeryUsed = -1, good 3 = 0. A new good 5 has no stock and no documents.
        run(
            &wh,
            &format!(
                "INSERT INTO {goods} (Code, Name, TaxGroup, GroupID, Deleted, IsVeryUsed, PriceOut2) \
                 VALUES ('1005', 'Нова стока', 1, 3, 0, 0, 3)"
            ),
        );
        let q = |status| GoodsQuery {
            status,
            ..GoodsQuery::default()
        };
        assert_eq!(
            skus(&wh, &q(GoodsStatus::All)),
            vec!["1001", "1002", "1005"]
        );
        assert_eq!(skus(&wh, &q(GoodsStatus::InUse)), vec!["1001", "1002"]);
        assert_eq!(skus(&wh, &q(GoodsStatus::UsedOften)), vec!["1001"]);
        // A good that only appears in a document counts as in use.
        let mut wh = wh;
        let mut doc = sale("WEB#1");
        doc.lines = vec![DocLine {
            sku: "1005".into(),
            name: "Нова".into(),
            qty: 1,
            unit_price: Money::from_cents(300),
        }];
        doc.doc_type = DocumentType::Order;
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        assert_eq!(
            skus(&wh, &q(GoodsStatus::InUse)),
            vec!["1001", "1002", "1005"]
        );
    });
}

#[test]
fn goods_groups_filter_includes_sub_groups() {
    on_both(|db| {
        let wh = db.connect();
        let gg = wh.t(Table::GoodsGroups);
        let goods = wh.t(Table::Goods);
        run(
            &wh,
            &format!(
                "INSERT INTO {gg} (ID, Name, Code) VALUES (10, 'Храни', 'AAB'), (11, 'Бира', 'AAAAAB')"
            ),
        );
        run(
            &wh,
            &format!(
                "INSERT INTO {goods} (Code, Name, TaxGroup, GroupID, Deleted, PriceOut2) VALUES \
                 ('2001', 'Хляб', 1, 10, 0, 1.2), ('3001', 'Бира Пиринско', 1, 11, 0, 1.9), \
                 ('4001', 'Без група', 1, 0, 0, 1)"
            ),
        );
        let q = |groups: &[&str]| GoodsQuery {
            goods_groups: groups.iter().map(|s| s.to_string()).collect(),
            ..GoodsQuery::default()
        };
        assert_eq!(
            skus(&wh, &q(&[])),
            vec!["1001", "1002", "2001", "3001", "4001"]
        );
        assert_eq!(skus(&wh, &q(&["AAA"])), vec!["1001", "1002", "3001"]);
        assert_eq!(skus(&wh, &q(&["AAAAAA"])), vec!["1001", "1002"]);
        assert_eq!(skus(&wh, &q(&["AAB", "AAAAAB"])), vec!["2001", "3001"]);
        let beer = wh.read_goods(&q(&["AAAAAB"])).unwrap().goods.remove(0);
        assert_eq!(beer.group_path, vec!["Напитки", "Бира"]);
    });
}

#[test]
fn price_groups_and_vat_excluded_databases() {
    on_both(|db| {
        let wh = db.connect();
        let goods = wh.t(Table::Goods);
        run(
            &wh,
            &format!("UPDATE {goods} SET PriceOut7 = 0.333, TaxGroup = 2 WHERE ID = 3"),
        );
        let q = |price_group| GoodsQuery {
            price_group,
            ..GoodsQuery::default()
        };
        let prices = |q: &GoodsQuery| -> Vec<i64> {
            wh.read_goods(q)
                .unwrap()
                .goods
                .iter()
                .map(|g| g.price.cents())
                .collect()
        };
        assert_eq!(prices(&q(2)), vec![90, 240]);
        assert_eq!(prices(&q(1)), vec![70, 180]);
        assert_eq!(prices(&q(7)), vec![0, 33]);
        // Prices stored without VAT: 20 % on good 2, 9 % on good 3 is added.
        run(
            &wh,
            &format!(
                "UPDATE {} SET Value = '0' WHERE {} = 'configkey20'",
                wh.t(Table::Configuration),
                wh.q("Key")
            ),
        );
        assert_eq!(prices(&q(2)), vec![108, 262]);
        assert_eq!(prices(&q(1)), vec![84, 196]);
    });
}

#[test]
fn stock_over_object_groups_minus_open_orders() {
    on_both(|db| {
        let mut wh = db.connect();
        let og = wh.t(Table::ObjectsGroups);
        let objects = wh.t(Table::Objects);
        let store = wh.t(Table::Store);
        run(
            &wh,
            &format!(
                "INSERT INTO {og} (ID, Code, Name) VALUES (2, 'AAA', 'Магазини'), (3, 'AAB', 'Складове')"
            ),
        );
        run(
            &wh,
            &format!(
                "INSERT INTO {objects} (ID, Code, Name, Name2, PriceGroup, IsVeryUsed, GroupID, Deleted) VALUES \
                 (3, '3', 'Магазин Пловдив', ' ', 1, 0, 2, 0), (4, '4', 'Склад Русе', ' ', 1, 0, 3, 0), \
                 (5, '5', 'Склад Варна', ' ', 1, 0, 3, 0)"
            ),
        );
        // Object 2 stays in group 1: water 100, juice 20.
        run(
            &wh,
            &format!(
                "INSERT INTO {store} (ObjectID, GoodID, Qtty, Price, Lot, LotID, LotOrder) VALUES \
                 (3, 2, 7, 0, ' ', 1, 1), (4, 2, 50, 0, ' ', 1, 1), (5, 2, 2.5, 0, ' ', 1, 1), (4, 3, 4, 0, ' ', 1, 1)"
            ),
        );
        let stock = |wh: &Warehouse, groups: &[i64], minus: bool| -> Vec<(String, Qty)> {
            wh.read_goods(&GoodsQuery {
                object_groups: groups.to_vec(),
                subtract_open_orders: minus,
                ..GoodsQuery::default()
            })
            .unwrap()
            .goods
            .into_iter()
            .map(|g| (g.sku, g.stock))
            .collect()
        };
        let s = |a: &str, q: i64| (a.to_string(), Qty(q));
        assert_eq!(
            stock(&wh, &[], false),
            vec![s("1001", 159_500), s("1002", 24_000)]
        );
        assert_eq!(
            stock(&wh, &[2], false),
            vec![s("1001", 7_000), s("1002", 0)]
        );
        assert_eq!(
            stock(&wh, &[3], false),
            vec![s("1001", 52_500), s("1002", 4_000)]
        );
        assert_eq!(
            stock(&wh, &[1, 2], false),
            vec![s("1001", 107_000), s("1002", 20_000)]
        );
        // A deleted object's stock never counts.
        run(
            &wh,
            &format!("UPDATE {objects} SET Deleted = -1 WHERE ID = 5"),
        );
        assert_eq!(
            stock(&wh, &[], false),
            vec![s("1001", 157_000), s("1002", 24_000)]
        );
        run(
            &wh,
            &format!("UPDATE {objects} SET Deleted = 0 WHERE ID = 5"),
        );
        // An open order in object 4 (group 3) reserves 2 waters and 1 juice.
        let mut doc = sale("WEB#500");
        doc.doc_type = DocumentType::Order;
        doc.object_id = 4;
        doc.lines[0].qty = 2;
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        assert_eq!(
            stock(&wh, &[3], true),
            vec![s("1001", 50_500), s("1002", 3_000)]
        );
        assert_eq!(
            stock(&wh, &[3], false),
            vec![s("1001", 52_500), s("1002", 4_000)]
        );
        assert_eq!(stock(&wh, &[2], true), vec![s("1001", 7_000), s("1002", 0)]);
        // An order never changes the store table.
        assert_eq!(count(&wh, Table::Store, "Qtty = 50"), 1);
    });
}

// ------------------------------------------------------------------ writing

/// The rows `example_write_sale.sql` leaves, in the columns that must match.
type Rows = Vec<Vec<String>>;

fn sale_rows(wh: &Warehouse) -> (Rows, Rows, Rows) {
    let ops = rows(
        wh,
        &format!(
            "SELECT OperType, Acct, GoodID, ObjectID, OperatorID, Qtty, Sign, PriceIn, PriceOut, \
             VATIn, VATOut, Discount, CurrencyID, CurrencyRate, Lot, LotID, Note, SrcDocID, UserID \
             FROM {} ORDER BY ID",
            wh.t(Table::Operations)
        ),
    );
    let store = rows(
        wh,
        &format!(
            "SELECT ObjectID, GoodID, Qtty FROM {} ORDER BY ID",
            wh.t(Table::Store)
        ),
    );
    let pays = rows(
        wh,
        &format!(
            "SELECT Acct, OperType, ObjectID, Qtty, Mode, Sign, UserID, Type, TransactionNumber \
             FROM {} ORDER BY ID",
            wh.t(Table::Payments)
        ),
    );
    // Numbers as 4-decimal integers so "0.15" and "0.15000000000000002" compare equal.
    let norm = |v: Vec<Vec<String>>| -> Vec<Vec<String>> {
        v.into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| parse_stored(&c, 4).map(|n| n.to_string()).unwrap_or(c))
                    .collect()
            })
            .collect()
    };
    (norm(ops), norm(store), norm(pays))
}

#[test]
fn sale_matches_the_worked_example() {
    on_both(|db| {
        let mut wh = db.connect();
        let out = wh
            .write_document(&sale("WEB#100045"), &WriteOptions::default())
            .unwrap();
        let (oper_type, acct, unknown_skus) = created(out);
        assert_eq!((oper_type, acct, unknown_skus), (2, 1, vec![]));
        let (ops, store, pays) = sale_rows(&wh);
        let expected_ops = vec![
            vec![
                "20000",
                "10000",
                "20000",
                "20000",
                "10000",
                "30000",
                "-10000",
                "4000",
                "9000",
                "667",
                "1500",
                "0",
                "10000",
                "10000",
                "",
                "10000",
                "WEB#100045",
                "0",
                "10000",
            ],
            vec![
                "20000",
                "10000",
                "30000",
                "20000",
                "10000",
                "10000",
                "-10000",
                "11000",
                "24000",
                "1833",
                "4000",
                "0",
                "10000",
                "10000",
                "",
                "10000",
                "WEB#100045",
                "0",
                "10000",
            ],
        ];
        let expected_ops: Vec<Vec<String>> = expected_ops
            .into_iter()
            .map(|r| r.into_iter().map(String::from).collect())
            .collect();
        assert_eq!(ops, expected_ops);
        // Stock decreased in object 2 only.
        assert_eq!(
            store,
            vec![
                vec!["10000", "10000", "0"],
                vec!["20000", "20000", "970000"],
                vec!["20000", "30000", "190000"],
                vec!["10000", "20000", "0"],
                vec!["10000", "30000", "0"],
            ]
        );
        // Due (Mode -1) and paid (Mode 1) rows of 5.10, card; balance 0.
        assert_eq!(
            pays,
            vec![
                vec![
                    "10000", "20000", "20000", "51000", "-10000", "10000", "10000", "10000", ""
                ],
                vec![
                    "10000", "20000", "20000", "51000", "10000", "10000", "10000", "30000", ""
                ],
            ]
        );
        let partner = rows(
            &wh,
            &format!(
                "SELECT p.Company, p.MOL, p.Phone, p.eMail, p.TaxNo, p.Deleted FROM {} p \
                 WHERE p.ID = (SELECT MAX(PartnerID) FROM {})",
                wh.t(Table::Partners),
                wh.t(Table::Operations)
            ),
        );
        assert_eq!(
            partner,
            vec![vec![
                "Иван Петров",
                "Иван Петров",
                "0888123456",
                "ivan@example.com",
                "",
                "0"
            ]]
        );
        assert_eq!(
            rows(
                &wh,
                &format!("SELECT NextAcct FROM {}", wh.t(Table::NextAcct))
            ),
            vec![vec!["S1"]]
        );
        // Card payment: no cash-book row.
        assert_eq!(count(&wh, Table::CashBook, "1 = 1"), 0);
    });
}

#[test]
fn writer_and_example_script_leave_the_same_rows() {
    // The reference script is MariaDB SQL; run it on one fresh database and the writer on
    // another, then compare operations, store and payments.
    let scripted = TestDb::new(Backend::MariaDb);
    let wh_script = scripted.connect();
    wh_script
        .execute_script(include_str!("fixtures/example_write_sale.sql"))
        .unwrap();
    let written = TestDb::new(Backend::MariaDb);
    let mut wh = written.connect();
    wh.write_document(&sale("WEB#100045"), &WriteOptions::default())
        .unwrap();
    let (ops_a, store_a, pays_a) = sale_rows(&wh_script);
    let (ops_b, store_b, pays_b) = sale_rows(&wh);
    // VATIn/VATOut: the script keeps the full double, the writer 6 decimals: 4 agree.
    assert_eq!(ops_a, ops_b);
    assert_eq!(store_a, store_b);
    assert_eq!(pays_a, pays_b);
}

#[test]
fn order_has_no_stock_effect_and_no_payments() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#7");
        doc.doc_type = DocumentType::Order;
        let out = wh.write_document(&doc, &WriteOptions::default()).unwrap();
        assert_eq!(out.acct(), 1);
        let ops = rows(
            &wh,
            &format!(
                "SELECT OperType, Sign, Qtty FROM {} ORDER BY ID",
                wh.t(Table::Operations)
            ),
        );
        assert_eq!(ops.len(), 2);
        assert!(
            ops.iter().all(|r| d4(&r[0]) == 190_000 && d4(&r[1]) == 0),
            "{ops:?}"
        );
        assert_eq!(
            count(
                &wh,
                Table::Store,
                "ObjectID = 2 AND GoodID = 2 AND Qtty = 100"
            ),
            1
        );
        assert_eq!(count(&wh, Table::Payments, "1 = 1"), 0);
        assert_eq!(
            rows(
                &wh,
                &format!("SELECT NextAcct FROM {}", wh.t(Table::NextAcct))
            ),
            vec![vec!["OR1"]]
        );
        // A sale after it is numbered in its own sequence.
        let out = wh
            .write_document(&sale("WEB#8"), &WriteOptions::default())
            .unwrap();
        assert_eq!(out.acct(), 1);
        let mut doc = sale("WEB#9");
        doc.doc_type = DocumentType::Order;
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap()
                .acct(),
            2
        );
    });
}

#[test]
fn cash_sale_writes_the_cash_book() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#11");
        doc.payment = PaymentInfo {
            method: PaymentMethod::Cash,
            paid: true,
        };
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        let cb = rows(
            &wh,
            &format!(
                "SELECT {}, OperType, {}, Profit, ObjectID FROM {}",
                wh.q("Desc"),
                wh.q("Sign"),
                wh.t(Table::CashBook)
            ),
        );
        assert_eq!(cb.len(), 1);
        assert_eq!(cb[0][0], "Продажба № 0000000001, Иван Петров");
        assert_eq!(
            (d4(&cb[0][1]), d4(&cb[0][2]), d4(&cb[0][3]), d4(&cb[0][4])),
            (80_000, 10_000, 51_000, 20_000)
        );
        // Unpaid cash sale (cash on delivery): due row only, no cash book.
        let mut doc = sale("WEB#12");
        doc.payment = PaymentInfo {
            method: PaymentMethod::Cash,
            paid: false,
        };
        let acct = wh
            .write_document(&doc, &WriteOptions::default())
            .unwrap()
            .acct();
        assert_eq!(acct, 2);
        assert_eq!(count(&wh, Table::Payments, "Acct = 2"), 1);
        assert_eq!(count(&wh, Table::Payments, "Acct = 2 AND Mode = -1"), 1);
        assert_eq!(count(&wh, Table::CashBook, "1 = 1"), 1);
    });
}

#[test]
fn same_order_twice_gives_one_document() {
    on_both(|db| {
        let mut wh = db.connect();
        let first = wh
            .write_document(&sale("WEB#42"), &WriteOptions::default())
            .unwrap();
        let second = wh
            .write_document(&sale("WEB#42"), &WriteOptions::default())
            .unwrap();
        assert_eq!(
            second,
            WriteOutcome::AlreadyExists {
                oper_type: 2,
                acct: first.acct()
            }
        );
        // Also from a second connection, and as the other document type.
        let mut other = db.connect();
        let mut doc = sale("WEB#42");
        doc.doc_type = DocumentType::Order;
        assert!(matches!(
            other
                .write_document(&doc, &WriteOptions::default())
                .unwrap(),
            WriteOutcome::AlreadyExists { .. }
        ));
        assert_eq!(count(&wh, Table::Operations, "1 = 1"), 2);
        assert_eq!(count(&wh, Table::Payments, "1 = 1"), 2);
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 97"), 1);
    });
}

#[test]
fn a_refund_is_one_return_document_that_puts_the_goods_back() {
    use skladlink::warehouse::returns::{NewReturn, ReturnOutcome};
    on_both(|db| {
        let mut wh = db.connect();
        let opts = WriteOptions::default();
        let sale_acct = wh.write_document(&sale("WEB#42"), &opts).unwrap().acct();
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 97"), 1);
        let ret = NewReturn {
            key: "WEB#42/Rf9".into(),
            sale: (2, sale_acct),
            object_id: 2,
            lines: vec![DocLine {
                sku: "1001".into(),
                name: "Вода".into(),
                qty: 2,
                unit_price: Money::from_cents(90),
            }],
            shipping: None,
            payment: PaymentInfo {
                method: PaymentMethod::Card,
                paid: true,
            },
        };
        let first = wh.write_return(&ret, &opts).unwrap();
        let ReturnOutcome::Created(acct) = first else {
            panic!("{first:?}")
        };
        // Written again (an interrupted run), also from another connection: nothing new.
        assert_eq!(
            wh.write_return(&ret, &opts).unwrap(),
            ReturnOutcome::AlreadyExists(acct)
        );
        let mut other = db.connect();
        assert_eq!(
            other.write_return(&ret, &opts).unwrap(),
            ReturnOutcome::AlreadyExists(acct)
        );
        assert_eq!(wh.find_return("WEB#42/Rf9").unwrap(), Some(acct));
        assert_eq!(wh.find_return("WEB#42/Rf10").unwrap(), None);
        let ops = wh.t(Table::Operations);
        let got = rows(
            &wh,
            &format!(
                "SELECT o.Qtty, o.Sign, o.Note, o.PartnerID = s.PartnerID, o.ObjectID FROM {ops} o, {ops} s \
                 WHERE o.OperType = 34 AND s.OperType = 2 AND s.Acct = {sale_acct} AND s.GoodID = o.GoodID"
            ),
        );
        assert_eq!(got.len(), 1, "one line: {got:?}");
        assert_eq!(d4(&got[0][0]), 20_000);
        assert_eq!(got[0][1], "1", "Sign +1: stock comes back");
        assert_eq!(got[0][2], "WEB#42/Rf9");
        assert_eq!(got[0][3], "1", "the sale's partner");
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 99"), 1);
        let nextacct = wh.t(Table::NextAcct);
        assert_eq!(
            rows(
                &wh,
                &format!("SELECT NextAcct FROM {nextacct} WHERE NextAcct LIKE 'Rf%'")
            )
            .len(),
            1,
            "numbered with the Rf prefix"
        );
        let pays = rows(
            &wh,
            &format!(
                "SELECT Qtty, Mode, {} FROM {} WHERE OperType = 34 ORDER BY Mode",
                wh.dialect().quote("Sign"),
                wh.t(Table::Payments)
            ),
        );
        assert_eq!(pays.len(), 2, "due and paid: {pays:?}");
        assert!(
            pays.iter().all(|p| d4(&p[0]) == 18_000 && p[2] == "-1"),
            "{pays:?}"
        );
        // A second refund of the same sale is the next return document.
        let second = NewReturn {
            key: "WEB#42/Rf10".into(),
            ..ret.clone()
        };
        assert_eq!(
            wh.write_return(&second, &opts).unwrap(),
            ReturnOutcome::Created(acct + 1)
        );
        // A return of a sale the warehouse does not have is refused, nothing written.
        let orphan = NewReturn {
            key: "WEB#43/Rf11".into(),
            sale: (2, sale_acct + 100),
            ..ret
        };
        assert!(wh.write_return(&orphan, &opts).is_err());
        assert_eq!(count(&wh, Table::Operations, "OperType = 34"), 2);
    });
}

#[test]
fn partners_are_matched_by_email_and_name_or_vat_number_and_company_never_by_phone() {
    on_both(|db| {
        let mut wh = db.connect();
        let partners = wh.t(Table::Partners);
        run(
            &wh,
            &format!(
                "INSERT INTO {partners} (Code, Company, eMail, Phone, TaxNo, Deleted) VALUES \
                 ('P1', 'Мария Иванова', 'maria@example.com', '0899000111', ' ', 0), \
                 ('P2', 'Фирма ООД', 'office@firma.bg', '0899000111', 'BG123456789', 0), \
                 ('P3', 'Изтрита', 'gone@example.com', ' ', ' ', -1)"
            ),
        );
        let company_of = |wh: &mut Warehouse, order: &str, p: PartnerData| -> (i64, String) {
            let mut doc = sale(order);
            doc.partner = p;
            let out = wh.write_document(&doc, &WriteOptions::default()).unwrap();
            let WriteOutcome::Created { partner_id, .. } = out else {
                panic!("{out:?}")
            };
            let name = rows(
                wh,
                &format!("SELECT Company FROM {partners} WHERE ID = {partner_id}"),
            )[0][0]
                .clone();
            (partner_id, name)
        };
        let p = |name: &str, email: &str, phone: &str, vat: &str| PartnerData {
            name: name.into(),
            email: email.into(),
            phone: phone.into(),
            vat_number: vat.into(),
            ..PartnerData::default()
        };
        // The same guest: e-mail and name.
        let (maria, name) = company_of(
            &mut wh,
            "W1",
            p("Мария Иванова", "maria@example.com", "", ""),
        );
        assert_eq!(name, "Мария Иванова");
        // Someone else with her phone number is someone else.
        let (other, name) = company_of(&mut wh, "W2", p("Петър Петров", "", "0899000111", ""));
        assert_ne!(other, maria);
        assert_eq!(name, "Петър Петров");
        // A guest typing the company's e-mail is not the company.
        let (guest, name) = company_of(&mut wh, "W3", p("Гост", "office@firma.bg", "", ""));
        assert_eq!(name, "Гост");
        // The company: VAT number and company name.
        let (_, name) = company_of(&mut wh, "W4", p("Фирма ООД", "x@y.bg", "", "BG123456789"));
        assert_eq!(name, "Фирма ООД");
        // A VAT number under another name is another partner.
        let (_, name) = company_of(&mut wh, "W5", p("Друга ЕООД", "", "", "BG123456789"));
        assert_eq!(name, "Друга ЕООД");
        // A deleted partner is never used; the new one is found again next time.
        let (first, _) = company_of(&mut wh, "W6", p("Изтрита", "gone@example.com", "", ""));
        let (again, _) = company_of(&mut wh, "W7", p("Изтрита", "gone@example.com", "", ""));
        assert_eq!(first, again);
        assert_eq!(
            count(&wh, Table::Partners, "Company = 'Изтрита' AND Deleted = 0"),
            1
        );
        // A registered customer is the partner remembered for them, whatever they type.
        let known = PartnerData {
            known_id: Some(guest),
            ..p("Гост с нов имейл", "new@example.com", "", "")
        };
        assert_eq!(company_of(&mut wh, "W8", known).0, guest);
    });
}

#[test]
fn unknown_skus_use_the_service_good_or_stop_the_order() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#13");
        doc.lines[1].sku = "NO-SUCH".into();
        let out = wh.write_document(&doc, &WriteOptions::default()).unwrap();
        let (oper_type, acct, unknown_skus) = created(out);
        assert_eq!(
            (oper_type, acct, unknown_skus),
            (2, 1, vec!["NO-SUCH".into()])
        );
        assert_eq!(
            count(&wh, Table::Operations, "GoodID = 1 AND Note = 'WEB#13'"),
            1
        );
        // The service good has no stock row to decrease.
        assert_eq!(count(&wh, Table::Store, "GoodID = 1 AND Qtty = 0"), 1);

        let opts = WriteOptions {
            invalid_goods: InvalidGoods::SkipOrder,
            ..WriteOptions::default()
        };
        let mut doc = sale("WEB#14");
        doc.lines[0].sku = "X-1".into();
        let err = wh.write_document(&doc, &opts).unwrap_err();
        assert_eq!(err, WarehouseError::UnknownSkus(vec!["X-1".into()]));
        assert_eq!(count(&wh, Table::Operations, "Note = 'WEB#14'"), 0);
        assert_eq!(count(&wh, Table::NextAcct, "1 = 1"), 1);
        assert_eq!(count(&wh, Table::Partners, "1 = 1"), 2);
    });
}

#[test]
fn shipping_good_is_created_once_and_not_exported() {
    on_both(|db| {
        let mut wh = db.connect();
        let before = wh.read_goods(&GoodsQuery::default()).unwrap();
        for order in ["WEB#20", "WEB#21"] {
            let mut doc = sale(order);
            doc.shipping = Some(ShippingLine {
                price: Money::from_cents(599),
            });
            wh.write_document(&doc, &WriteOptions::default()).unwrap();
        }
        let ship = rows(
            &wh,
            &format!(
                "SELECT ID, Name, GroupID FROM {} WHERE Code = 'SHIPPING'",
                wh.t(Table::Goods)
            ),
        );
        assert_eq!(ship.len(), 1, "{ship:?}");
        assert_eq!(ship[0][1], "Доставка");
        let id = &ship[0][0];
        assert_eq!(count(&wh, Table::Operations, &format!("GoodID = {id}")), 2);
        // The total due includes shipping: 5.10 + 5.99.
        assert_eq!(
            count(
                &wh,
                Table::Payments,
                "Acct = 2 AND Mode = -1 AND Qtty > 11.08 AND Qtty < 11.10"
            ),
            1
        );
        // Shipping is a service: no stock row, not exported.
        assert_eq!(count(&wh, Table::Store, &format!("GoodID = {id}")), 0);
        let after = wh.read_goods(&GoodsQuery::default()).unwrap();
        let ids = |s: &skladlink::warehouse::GoodsSnapshot| -> Vec<i64> {
            s.goods
                .iter()
                .chain(s.invalid.iter().map(|_| unreachable!()))
                .map(|g| g.id)
                .collect()
        };
        assert_eq!(ids(&after), ids(&before));
    });
}

#[test]
fn sale_beyond_stock_is_refused_when_negative_stock_is_not_allowed() {
    on_both(|db| {
        let mut wh = db.connect();
        // The fixture allows negative availability: a sale of 101 waters out of 100 goes in.
        let mut doc = sale("WEB#N1");
        doc.lines[0].qty = 101;
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = -1"), 1);
        run(
            &wh,
            &format!(
                "UPDATE {} SET Qtty = 100 WHERE GoodID = 2 AND ObjectID = 2",
                wh.t(Table::Store)
            ),
        );
        run(
            &wh,
            &format!(
                "UPDATE {} SET Value = '0' WHERE {} = 'configkey12'",
                wh.t(Table::Configuration),
                wh.q("Key")
            ),
        );
        let mut doc = sale("WEB#N2");
        doc.lines[0].qty = 101;
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap_err(),
            WarehouseError::InsufficientStock(vec!["1001".into()])
        );
        assert_eq!(count(&wh, Table::Operations, "Note = 'WEB#N2'"), 0);
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 100"), 1);
        // Exactly the stock is fine; an Order never checks stock.
        doc.lines[0].qty = 100;
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 0"), 2);
        let mut order = sale("WEB#N3");
        order.doc_type = DocumentType::Order;
        order.lines[0].qty = 500;
        wh.write_document(&order, &WriteOptions::default()).unwrap();
    });
}

#[test]
fn vat_excluded_database_writes_net_prices() {
    on_both(|db| {
        let mut wh = db.connect();
        run(
            &wh,
            &format!(
                "UPDATE {} SET Value = '0' WHERE {} = 'configkey20'",
                wh.t(Table::Configuration),
                wh.q("Key")
            ),
        );
        wh.write_document(&sale("WEB#30"), &WriteOptions::default())
            .unwrap();
        let ops = rows(
            &wh,
            &format!(
                "SELECT PriceOut, VATOut FROM {} ORDER BY ID",
                wh.t(Table::Operations)
            ),
        );
        let ops: Vec<(i64, i64)> = ops.iter().map(|r| (d4(&r[0]), d4(&r[1]))).collect();
        // 0.90 gross → 0.75 net + 0.15 VAT; 2.40 → 2.00 + 0.40.
        assert_eq!(ops, vec![(7_500, 1_500), (20_000, 4_000)]);
        assert_eq!(count(&wh, Table::Payments, "Mode = -1 AND Qtty = 5.1"), 1);
    });
}

#[test]
fn supto_mode_records_the_unp() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#40");
        doc.unp = Some(UnpRecord {
            unp: "DT636533-0001-0000045".into(),
            device: "DT636533".into(),
            receipt_no: 0,
        });
        let acct = wh
            .write_document(&doc, &WriteOptions::default())
            .unwrap()
            .acct();
        let r = rows(
            &wh,
            &format!(
                "SELECT OperType, Acct, ReceiptType, ECRID, Description, Total FROM {}",
                wh.t(Table::EcrReceipts)
            ),
        );
        assert_eq!(r.len(), 1);
        assert_eq!(
            (d4(&r[0][0]), d4(&r[0][1]), d4(&r[0][2])),
            (20_000, acct * 10_000, 80_000)
        );
        assert_eq!(
            (r[0][3].as_str(), r[0][4].as_str()),
            ("DT636533", "DT636533-0001-0000045")
        );
        assert_eq!(d4(&r[0][5]), 51_000);
        // After printing, the receipt number is recorded on the same row.
        assert!(
            wh.record_receipt_number(2, acct, "DT636533-0001-0000045", 123)
                .unwrap()
        );
        assert!(
            !wh.record_receipt_number(2, acct, "DT636533-0001-9999999", 124)
                .unwrap()
        );
        let r = rows(
            &wh,
            &format!("SELECT ReceiptID FROM {}", wh.t(Table::EcrReceipts)),
        );
        assert_eq!(r, vec![vec!["123"]]);
    });
}

#[test]
fn numbering_continues_after_existing_documents_and_taken_keys() {
    on_both(|db| {
        let mut wh = db.connect();
        // An older sale number 41 and a stray reservation S42.
        run(
            &wh,
            &format!(
                "INSERT INTO {} (OperType, Acct, GoodID, PartnerID, ObjectID, Qtty, Sign, Note) \
                 VALUES (2, 41, 2, 1, 2, 1, -1, 'old')",
                wh.t(Table::Operations)
            ),
        );
        run(
            &wh,
            &format!(
                "INSERT INTO {} (NextAcct) VALUES ('S42')",
                wh.t(Table::NextAcct)
            ),
        );
        assert_eq!(
            wh.write_document(&sale("WEB#50"), &WriteOptions::default())
                .unwrap()
                .acct(),
            43
        );
        assert_eq!(
            wh.write_document(&sale("WEB#51"), &WriteOptions::default())
                .unwrap()
                .acct(),
            44
        );
    });
}

#[test]
fn numbering_per_object_when_configured() {
    on_both(|db| {
        let mut wh = db.connect();
        run(
            &wh,
            &format!(
                "UPDATE {} SET Value = '-1' WHERE {} = 'configkey48'",
                wh.t(Table::Configuration),
                wh.q("Key")
            ),
        );
        run(
            &wh,
            &format!(
                "INSERT INTO {} (ID, Code, Name, Name2, PriceGroup, IsVeryUsed, GroupID, Deleted) \
                 VALUES (3, '3', 'Магазин Бургас', ' ', 1, 0, 1, 0)",
                wh.t(Table::Objects)
            ),
        );
        assert!(wh.info().unwrap().numbering_per_object);
        let in_object = |wh: &mut Warehouse, order: &str, object: i64| {
            let mut doc = sale(order);
            doc.object_id = object;
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap()
                .acct()
        };
        assert_eq!(in_object(&mut wh, "A1", 2), 1);
        assert_eq!(in_object(&mut wh, "A2", 3), 1);
        assert_eq!(in_object(&mut wh, "A3", 2), 2);
        // The sale in object 3 has no stock row there: a negative row is created.
        assert_eq!(
            count(
                &wh,
                Table::Store,
                "ObjectID = 3 AND GoodID = 2 AND Qtty = -3"
            ),
            1
        );
        let dates = rows(
            &wh,
            &format!(
                "SELECT DISTINCT {} FROM {}",
                wh.q("Date"),
                wh.t(Table::Operations)
            ),
        );
        assert_eq!(dates.len(), 1);
        assert!(dates[0][0].ends_with("00:00:00"), "{dates:?}");
    });
}

#[test]
fn two_concurrent_writers_get_distinct_numbers_and_lose_nothing() {
    on_both(|db| {
        let per_writer = 8;
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let cs = db.cs.clone();
                std::thread::spawn(move || {
                    let mut wh = Warehouse::connect(&cs).unwrap();
                    let mut accts = Vec::new();
                    for i in 0..per_writer {
                        let mut doc = sale(&format!("WEB#{w}-{i}"));
                        doc.partner.email = format!("c{w}-{i}@example.com");
                        let out = wh.write_document(&doc, &WriteOptions::default()).unwrap();
                        accts.push(out.acct());
                    }
                    accts
                })
            })
            .collect();
        let mut all: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, (1..=2 * per_writer as i64).collect::<Vec<_>>());
        let wh = db.connect();
        assert_eq!(
            count(&wh, Table::Operations, "OperType = 2"),
            2 * 2 * per_writer as i64
        );
        assert_eq!(count(&wh, Table::NextAcct, "1 = 1"), 2 * per_writer as i64);
        // Every sale took 3 waters: none lost.
        assert_eq!(
            count(
                &wh,
                Table::Store,
                &format!(
                    "ObjectID = 2 AND GoodID = 2 AND Qtty = {}",
                    100 - 3 * 2 * per_writer
                )
            ),
            1
        );
    });
}

#[test]
fn concurrent_orders_of_one_new_customer_create_one_partner() {
    on_both(|db| {
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let cs = db.cs.clone();
                std::thread::spawn(move || {
                    let mut wh = Warehouse::connect(&cs).unwrap();
                    for i in 0..3 {
                        let mut doc = sale(&format!("WEB#P{w}-{i}"));
                        doc.doc_type = DocumentType::Order;
                        wh.write_document(&doc, &WriteOptions::default()).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let wh = db.connect();
        assert_eq!(count(&wh, Table::Partners, "eMail = 'ivan@example.com'"), 1);
        assert_eq!(count(&wh, Table::Operations, "OperType = 19"), 12);
    });
}

#[test]
fn concurrent_writers_of_the_same_order_write_it_once() {
    on_both(|db| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let cs = db.cs.clone();
                std::thread::spawn(move || {
                    let mut wh = Warehouse::connect(&cs).unwrap();
                    wh.write_document(&sale("WEB#777"), &WriteOptions::default())
                        .unwrap()
                })
            })
            .collect();
        let outcomes: Vec<WriteOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, WriteOutcome::Created { .. }))
            .count();
        assert_eq!(created, 1, "{outcomes:?}");
        let wh = db.connect();
        assert_eq!(count(&wh, Table::Operations, "Note = 'WEB#777'"), 2);
    });
}

#[test]
fn dropped_connection_before_commit_leaves_nothing() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#60");
        doc.shipping = Some(ShippingLine {
            price: Money::from_cents(500),
        });
        doc.payment.method = PaymentMethod::Cash;
        let err = match db.backend {
            Backend::MariaDb => {
                // Kill the writer's server session from another connection mid-transaction.
                let id = wh.connection_id().unwrap().unwrap();
                let admin = Warehouse::connect(db.admin_cs.as_ref().unwrap()).unwrap();
                wh.write_document_with(&doc, &WriteOptions::default(), &mut |_, _| {
                    admin
                        .exec(&format!("KILL {id}"), &[])
                        .map_err(|e| e.to_string())
                })
                .unwrap_err()
            }
            Backend::Sqlite => wh
                .write_document_with(&doc, &WriteOptions::default(), &mut |_, _| {
                    Err("connection dropped".into())
                })
                .unwrap_err(),
        };
        assert!(
            matches!(
                err,
                WarehouseError::Database(_) | WarehouseError::Aborted(_)
            ),
            "{err:?}"
        );
        if db.backend == Backend::MariaDb {
            assert!(wh.is_dead(), "the killed connection is reported dead");
        } else {
            assert!(!wh.is_dead());
        }
        drop(wh);
        let wh = db.connect();
        assert_eq!(count(&wh, Table::Operations, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::NextAcct, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::Payments, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::CashBook, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::Partners, "1 = 1"), 1);
        assert_eq!(count(&wh, Table::Goods, "Code = 'SHIPPING'"), 0);
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 100"), 1);
        // The order can be written afterwards.
        let mut wh = wh;
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap()
                .acct(),
            1
        );
    });
}

#[test]
fn emoji_are_replaced_only_for_3_byte_utf8_mysql() {
    on_both(|db| {
        let mut wh = db.connect();
        if db.backend == Backend::MariaDb {
            for t in [Table::Partners, Table::Operations] {
                run(
                    &wh,
                    &format!("ALTER TABLE {} CONVERT TO CHARACTER SET utf8mb3", wh.t(t)),
                );
            }
            wh = db.connect();
        }
        let mut doc = sale("WEB#😀1");
        doc.partner.name = "Мария 🌸 Иванова".into();
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        let names = rows(
            &wh,
            &format!("SELECT Company FROM {} WHERE ID > 1", wh.t(Table::Partners)),
        );
        let notes = rows(
            &wh,
            &format!("SELECT DISTINCT Note FROM {}", wh.t(Table::Operations)),
        );
        match db.backend {
            Backend::MariaDb => {
                assert_eq!(names, vec![vec!["Мария \u{FFFD} Иванова"]]);
                assert_eq!(notes, vec![vec!["WEB#\u{FFFD}1"]]);
            }
            Backend::Sqlite => {
                assert_eq!(names, vec![vec!["Мария 🌸 Иванова"]]);
                assert_eq!(notes, vec![vec!["WEB#😀1"]]);
            }
        }
    });
}

#[test]
fn bad_documents_are_refused_before_writing() {
    on_both(|db| {
        let mut wh = db.connect();
        let mut doc = sale("WEB#70");
        doc.lines.clear();
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap_err(),
            WarehouseError::EmptyDocument
        );
        let mut doc = sale("WEB#71");
        doc.lines[0].qty = 0;
        assert!(matches!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap_err(),
            WarehouseError::InvalidDocument(_)
        ));
        // Over-long partner text is cut to the column size instead of failing.
        let mut doc = sale("WEB#73");
        doc.partner.name = "Я".repeat(300);
        doc.partner.address = "ул. ".repeat(100);
        wh.write_document(&doc, &WriteOptions::default()).unwrap();
        let r = rows(
            &wh,
            &format!(
                "SELECT Company, Address FROM {} WHERE ID > 1",
                wh.t(Table::Partners)
            ),
        );
        assert_eq!(r[0][0], "Я".repeat(255));
        assert_eq!(r[0][1].chars().count(), 255);
        run(&wh, &format!("DELETE FROM {}", wh.t(Table::Operations)));
        run(
            &wh,
            &format!("DELETE FROM {} WHERE ID > 1", wh.t(Table::Partners)),
        );
        let mut doc = sale("WEB#72");
        doc.object_id = 99;
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap_err(),
            WarehouseError::UnknownObject(99)
        );
        assert_eq!(count(&wh, Table::Operations, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::Partners, "1 = 1"), 1);
    });
}

// ------------------------------------------------------------------ demo warehouse

#[test]
fn demo_warehouse_is_realistic() {
    // SQLite through the public entry point of `skladlink demo-db PATH`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.sqlite");
    let summary = skladlink::warehouse::create_demo_db(&path).unwrap();
    assert!(summary.goods >= 2000);
    assert!(matches!(
        skladlink::warehouse::create_demo_db(&path),
        Err(WarehouseError::DemoExists(_))
    ));
    let wh =
        Warehouse::connect(&skladlink::warehouse::demo::sqlite_connection_string(&path)).unwrap();
    check_demo(&wh, summary.goods);
    // Demo documents: open orders and sales by Bulgarian customers.
    assert!(count(&wh, Table::Operations, "OperType = 19 AND Acct > 0") > 0);
    assert!(count(&wh, Table::Operations, "OperType = 2 AND Acct > 0") > 0);
    assert_eq!(count(&wh, Table::Partners, "ID > 1"), 4);
    assert_eq!(count(&wh, Table::CashBook, "1 = 1"), 1);
    // The `demo-db` command entry: success, then a clear failure on an existing file.
    let path2 = dir.path().join("demo2.sqlite");
    let lang = skladlink::i18n::Language::Bg;
    assert_eq!(
        skladlink::warehouse::demo::run_demo_db(&path2, lang),
        std::process::ExitCode::SUCCESS
    );
    assert!(path2.exists());
    assert_eq!(
        skladlink::warehouse::demo::run_demo_db(&path2, lang),
        std::process::ExitCode::FAILURE
    );
    // MariaDB: the same generator on a fresh database.
    let db = TestDb::new(Backend::MariaDb);
    let wh = db.connect();
    let summary = populate_demo(
        &wh,
        &DemoSpec {
            goods: 600,
            seed: 7,
        },
    )
    .unwrap();
    check_demo(&wh, summary.goods);
}

fn check_demo(wh: &Warehouse, goods: usize) {
    let snap = wh.read_goods(&GoodsQuery::default()).unwrap();
    // A few demo goods are deleted; the fixture's two live goods are added.
    assert!(snap.goods.len() > goods * 9 / 10 && snap.goods.len() <= goods + 2);
    assert!(
        snap.invalid.is_empty(),
        "{:?}",
        &snap.invalid[..snap.invalid.len().min(3)]
    );
    assert!(snap.goods.iter().any(|g| g.group_path.len() == 3));
    assert!(snap.goods.iter().any(|g| g.vat_rate_bp == 900));
    assert!(snap.goods.iter().all(|g| g.price > Money::ZERO));
    // The demo is a database converted at the euro changeover.
    assert_eq!(wh.base_currency().unwrap().as_deref(), Some("EUR"));
    let tree = wh.goods_groups().unwrap();
    assert!(tree.len() >= 5);
    let groups = wh.object_groups().unwrap();
    let objects = wh.objects().unwrap();
    assert!(objects.len() >= 5);
    let used: std::collections::BTreeSet<i64> = objects.iter().map(|o| o.group_id).collect();
    assert_eq!(used.len(), 2, "objects in two object groups");
    assert!(used.iter().all(|g| groups.iter().any(|x| x.id == *g)));
    let shops = wh
        .read_goods(&GoodsQuery {
            object_groups: vec![*used.iter().next().unwrap()],
            ..GoodsQuery::default()
        })
        .unwrap();
    assert!(shops.goods.iter().any(|g| g.stock > Qty(0)));
    let barcodes = wh
        .read_goods(&GoodsQuery {
            key_field: KeyField::BarCode1,
            ..GoodsQuery::default()
        })
        .unwrap();
    assert!(barcodes.goods.len() > goods * 9 / 10);
}

#[test]
fn process_killed_mid_write_leaves_nothing() {
    // Child mode: write with a hook that kills the process before commit.
    if let Ok(cs) = std::env::var("SKLADLINK_CRASH_CHILD_CS") {
        let mut wh = Warehouse::connect(&cs).unwrap();
        let mut doc = sale("WEB#CRASH");
        doc.shipping = Some(ShippingLine {
            price: Money::from_cents(500),
        });
        doc.payment.method = PaymentMethod::Cash;
        let _ = wh.write_document_with(&doc, &WriteOptions::default(), &mut |_, _| {
            std::process::abort()
        });
        unreachable!("the hook aborts the process");
    }
    on_both(|db| {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "process_killed_mid_write_leaves_nothing",
                "--nocapture",
            ])
            .env("SKLADLINK_CRASH_CHILD_CS", &db.cs)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child must have been killed");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                status.signal(),
                Some(6),
                "killed by SIGABRT in the hook: {status:?}"
            );
        }
        let mut wh = db.connect();
        assert_eq!(count(&wh, Table::Operations, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::NextAcct, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::Payments, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::CashBook, "1 = 1"), 0);
        assert_eq!(count(&wh, Table::Partners, "1 = 1"), 1);
        assert_eq!(count(&wh, Table::Goods, "Code = 'SHIPPING'"), 0);
        assert_eq!(count(&wh, Table::Store, "GoodID = 2 AND Qtty = 100"), 1);
        // Writing the order again succeeds, once.
        let doc = sale("WEB#CRASH");
        assert_eq!(
            wh.write_document(&doc, &WriteOptions::default())
                .unwrap()
                .acct(),
            1
        );
    });
}

#[test]
fn a_blank_database_keeps_leva_as_its_base_currency() {
    on_both(|db| {
        let wh = db.connect();
        assert_eq!(wh.base_currency().unwrap().as_deref(), Some("BGN"));
    });
}

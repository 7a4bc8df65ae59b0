//! A realistic Bulgarian demo warehouse: nested goods groups, thousands of goods, five
//! objects in two object groups, stock and VAT groups. Used by `skladlink demo-db PATH`,
//! the demo and the benchmark.

use std::path::Path;

use super::db::Warehouse;
use super::dialect::{Dialect, Table};
use super::error::WarehouseError;
use super::script::{FIXTURE_MARIADB, FIXTURE_SQLITE};
use crate::core::money::Money;

/// How big a demo warehouse to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    /// Number of goods.
    pub goods: usize,
    /// Seed of the pseudo-random prices and quantities (same seed, same data).
    pub seed: u64,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            goods: 3000,
            seed: 2026,
        }
    }
}

/// What a demo warehouse holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Goods created.
    pub goods: usize,
    /// Goods groups created (all levels).
    pub groups: usize,
    /// Objects (locations) in the database, service object excluded.
    pub objects: usize,
}

/// The ODBC connection string of an SQLite database file (SQLite3 ODBC driver).
pub fn sqlite_connection_string(path: &Path) -> String {
    let path = path.display().to_string();
    format!(
        "Driver={{SQLite3}};Database={};Timeout=30000",
        odbc_api::escape_attribute_value(&path)
    )
}

/// Creates a new SQLite demo warehouse at `path` (the file must not exist yet).
pub fn create_demo_db(path: &Path) -> Result<DemoSummary, WarehouseError> {
    create_demo_db_with(path, &DemoSpec::default())
}

/// Creates a new SQLite demo warehouse of the given size at `path`.
pub fn create_demo_db_with(path: &Path, spec: &DemoSpec) -> Result<DemoSummary, WarehouseError> {
    if path.exists() {
        return Err(WarehouseError::DemoExists(path.display().to_string()));
    }
    let mut wh = Warehouse::connect(&sqlite_connection_string(path))?;
    wh.execute_script(FIXTURE_SQLITE)?;
    let summary = populate_demo(&wh, spec)?;
    add_demo_documents(&mut wh, spec)?;
    Ok(summary)
}

/// Demo customers: (name, e-mail, phone, VAT number, city, address).
const CUSTOMERS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "Иван Петров",
        "ivan.petrov@example.com",
        "0888123456",
        "",
        "София",
        "ул. Граф Игнатиев 12",
    ),
    (
        "Мария Георгиева",
        "maria.g@example.com",
        "0899765432",
        "",
        "Пловдив",
        "бул. Марица 5",
    ),
    (
        "Елена Димитрова",
        "elena@example.com",
        "0877111222",
        "",
        "Варна",
        "ул. Шипка 3",
    ),
    (
        "Търговска къща Балкан ЕООД",
        "office@balkan.example",
        "029876543",
        "BG204567891",
        "Русе",
        "ул. Александровска 40",
    ),
];

/// A few documents, written with the real writer: open orders (which reserve stock)
/// and paid sales.
fn add_demo_documents(wh: &mut Warehouse, spec: &DemoSpec) -> Result<(), WarehouseError> {
    use super::write::{
        DocLine, NewDocument, PartnerData, PaymentInfo, PaymentMethod, WriteOptions,
    };
    use crate::config::DocumentType;
    let goods = spec.goods.min(1000) as u64;
    if goods == 0 {
        return Ok(());
    }
    let mut rng = Rng(spec.seed.max(1) ^ 0xD1B5_4A32_D192_ED03);
    for (i, c) in CUSTOMERS.iter().enumerate() {
        let doc_type = if i % 2 == 0 {
            DocumentType::Order
        } else {
            DocumentType::Sale
        };
        let lines = (0..2 + rng.below(3))
            .map(|_| {
                let n = rng.below(goods);
                DocLine {
                    sku: format!("{}", 100_000 + n),
                    name: String::new(),
                    qty: 1 + rng.below(3) as i64,
                    unit_price: Money::from_cents(150 + rng.below(2000) as i64),
                }
            })
            .collect();
        let doc = NewDocument {
            order_number: format!("WEB#{}", 1001 + i),
            doc_type,
            object_id: 2,
            partner: PartnerData {
                name: c.0.into(),
                email: c.1.into(),
                phone: c.2.into(),
                vat_number: c.3.into(),
                city: c.4.into(),
                address: c.5.into(),
                ..PartnerData::default()
            },
            lines,
            shipping: None,
            payment: PaymentInfo {
                method: if i == 1 {
                    PaymentMethod::Cash
                } else {
                    PaymentMethod::Card
                },
                paid: true,
            },
            unp: None,
        };
        wh.write_document(&doc, &WriteOptions::default())?;
    }
    Ok(())
}

/// `skladlink demo-db PATH`: creates the demo warehouse at `path` and prints what it
/// holds (or a translated error); exit code 0 on success, 1 on failure.
pub fn run_demo_db(path: &Path, lang: crate::i18n::Language) -> std::process::ExitCode {
    match create_demo_db(path) {
        Ok(summary) => {
            println!(
                "{}",
                crate::i18n::tr_args(
                    lang,
                    "warehouse.demo.created",
                    &[
                        ("path", &path.display().to_string()),
                        ("goods", &summary.goods.to_string()),
                        ("groups", &summary.groups.to_string()),
                        ("objects", &summary.objects.to_string()),
                    ],
                )
            );
            println!(
                "{}",
                crate::i18n::tr_args(
                    lang,
                    "warehouse.demo.connection",
                    &[("cs", &sqlite_connection_string(path))],
                )
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.message(lang));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Loads the schema fixture of the connection's dialect (MySQL/MariaDB or SQLite) into
/// an empty database.
pub fn load_schema(wh: &Warehouse) -> Result<(), WarehouseError> {
    match wh.dialect() {
        Dialect::MySql => wh.execute_script(FIXTURE_MARIADB),
        Dialect::Sqlite => wh.execute_script(FIXTURE_SQLITE),
        other => Err(WarehouseError::Demo(format!(
            "no schema script for {}",
            other.display_name()
        ))),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A leaf group: (code, name, VAT group id, product words, unit, price range in stotinki).
type Leaf = (
    &'static str,
    &'static str,
    i64,
    &'static [&'static str],
    &'static str,
    (i64, i64),
);

const LEAVES: &[Leaf] = &[
    (
        "AAAAAAAAA",
        "Минерална вода",
        1,
        &["Минерална вода", "Изворна вода", "Газирана вода"],
        "бр.",
        (60, 250),
    ),
    (
        "AAAAAAAAB",
        "Сокове",
        1,
        &["Сок портокал", "Сок ябълка", "Нектар праскова", "Сок домат"],
        "бр.",
        (150, 450),
    ),
    (
        "AAAAAB",
        "Бира",
        1,
        &["Бира светла", "Бира тъмна", "Бира пшенична"],
        "бр.",
        (120, 400),
    ),
    (
        "AAAAAC",
        "Вино",
        1,
        &["Вино Мавруд", "Вино Мелник", "Вино Гъмза", "Вино Тамянка"],
        "бр.",
        (700, 4500),
    ),
    (
        "AAAAAD",
        "Кафе и чай",
        1,
        &[
            "Кафе на зърна",
            "Мляно кафе",
            "Чай „Зелен“",
            "Билков чай мащерка",
        ],
        "бр.",
        (250, 2800),
    ),
    (
        "AABAAA",
        "Млечни продукти",
        1,
        &["Кисело мляко", "Сирене краве", "Кашкавал Витоша", "Айран"],
        "бр.",
        (110, 1900),
    ),
    (
        "AABAAB",
        "Хляб и тестени",
        1,
        &["Хляб Добруджа", "Питка", "Баница със сирене", "Козунак"],
        "бр.",
        (90, 900),
    ),
    (
        "AABAAC",
        "Консерви",
        1,
        &[
            "Лютеница",
            "Кьопоолу",
            "Зелен фасул буркан",
            "Компот череши",
        ],
        "бр.",
        (220, 800),
    ),
    (
        "AABAAD",
        "Сладкарски изделия",
        1,
        &["Шоколад", "Вафла", "Локум", "Бисквити"],
        "бр.",
        (80, 1200),
    ),
    (
        "AABAAE",
        "Детски храни",
        2,
        &["Пюре ябълка", "Каша овесена", "Детско мляко"],
        "бр.",
        (180, 3500),
    ),
    (
        "AACAAA",
        "Почистващи препарати",
        1,
        &["Препарат за съдове", "Прах за пране", "Омекотител"],
        "бр.",
        (250, 2500),
    ),
    (
        "AACAAB",
        "Хартиени изделия",
        1,
        &["Тоалетна хартия", "Кухненска ролка", "Салфетки"],
        "опак.",
        (150, 1200),
    ),
    (
        "AADAAA",
        "Козметика",
        1,
        &[
            "Шампоан",
            "Сапун розово масло",
            "Крем за ръце",
            "Паста за зъби",
        ],
        "бр.",
        (200, 2200),
    ),
    (
        "AAEAAA",
        "Книги",
        3,
        &["Роман", "Готварска книга", "Пътеводител България"],
        "бр.",
        (900, 3500),
    ),
];

/// Inner groups: (code, name).
const INNER: &[(&str, &str)] = &[
    ("AAA", "Напитки"),
    ("AAAAAA", "Безалкохолни"),
    ("AAB", "Храни"),
    ("AAC", "Домакинство"),
    ("AAD", "Лична хигиена"),
    ("AAE", "Книжарница"),
];

const BRANDS: &[&str] = &[
    "Девин",
    "Банкя",
    "Родопа",
    "Тракия",
    "Балкан",
    "Пирин",
    "Странджа",
    "Витоша",
    "Дунав",
    "Мизия",
    "Рила",
    "Меден рудник",
];
const SIZES: &[&str] = &[
    "0.5 л",
    "1 л",
    "1.5 л",
    "250 г",
    "400 г",
    "500 г",
    "1 кг",
    "голям",
    "малък",
];

fn quote(d: Dialect, s: &str) -> String {
    let _ = d;
    format!("'{}'", s.replace('\'', "''"))
}

fn ean13(body12: u64) -> String {
    let digits: Vec<u32> = format!("{body12:012}")
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    format!("{body12:012}{}", (10 - sum % 10) % 10)
}

/// `System.Version` of the demo database: the first with SUPTO support (the demo uses
/// SUPTO mode).
pub const DEMO_VERSION: &str = "3.07.100";

/// Fills a database that holds the blank schema fixture with demo data.
pub fn populate_demo(wh: &Warehouse, spec: &DemoSpec) -> Result<DemoSummary, WarehouseError> {
    let mut rng = Rng(spec.seed.max(1) ^ 0x9E37_79B9_7F4A_7C15);
    wh.begin()?;
    let result = (|| {
        // The demo uses SUPTO mode, so its database is of a version that supports it.
        wh.exec(
            &format!(
                "UPDATE {} SET Version = '{DEMO_VERSION}'",
                wh.t(Table::System)
            ),
            &[],
        )?;
        // The demo is a database converted at the euro changeover: its base currency
        // (currency 1, rate 1) is the euro and its prices are euro prices.
        wh.exec(
            &format!(
                "UPDATE {} SET Currency = 'EUR', Description = 'Евро' WHERE ID = 1",
                wh.t(Table::Currencies)
            ),
            &[],
        )?;
        let object_ids = demo_objects(wh)?;
        let group_id = demo_groups(wh)?;
        let first_id = demo_goods(wh, spec, &mut rng, &group_id)?;
        demo_stock(wh, &mut rng, first_id, spec.goods, &object_ids)?;
        Ok(DemoSummary {
            goods: spec.goods,
            groups: group_id.len().saturating_sub(1),
            objects: object_ids.len(),
        })
    })();
    match result {
        Ok(summary) => {
            wh.commit()?;
            Ok(summary)
        }
        Err(e) => {
            wh.rollback();
            Err(e)
        }
    }
}

/// The demo's object groups and objects; the ids of every object but the first.
fn demo_objects(wh: &Warehouse) -> Result<Vec<i64>, WarehouseError> {
    // Object groups and objects.
    let og = wh.t(Table::ObjectsGroups);
    wh.exec(
        &format!("INSERT INTO {og} (Code, Name) VALUES ('AAA','Магазини'),('AAB','Складове')"),
        &[],
    )?;
    let shops = wh
        .query_i64(&format!("SELECT ID FROM {og} WHERE Code = 'AAA'"), &[])?
        .unwrap_or(2);
    let stores = wh
        .query_i64(&format!("SELECT ID FROM {og} WHERE Code = 'AAB'"), &[])?
        .unwrap_or(3);
    let objects = wh.t(Table::Objects);
    wh.exec(
        &format!("UPDATE {objects} SET GroupID = {shops} WHERE ID = 2"),
        &[],
    )?;
    wh.exec(
        &format!(
            "INSERT INTO {objects} (Code, Name, Name2, PriceGroup, IsVeryUsed, GroupID, Deleted) VALUES \
             ('3','Магазин София Център','Магазин София Център',1,0,{shops},0),\
             ('4','Магазин Пловдив','Магазин Пловдив',1,0,{shops},0),\
             ('5','Склад Русе','Склад Русе',1,0,{stores},0),\
             ('6','Склад Варна','Склад Варна',1,0,{stores},0)"
        ),
        &[],
    )?;
    let object_ids: Vec<i64> = wh
        .query(
            &format!("SELECT ID FROM {objects} WHERE ID > 1 ORDER BY ID"),
            &[],
        )?
        .into_iter()
        .filter_map(|r| r[0].as_deref().and_then(super::db::int_of))
        .collect();
    Ok(object_ids)
}

/// The demo's goods groups (added to the fixture's); code → id of every group.
fn demo_groups(wh: &Warehouse) -> Result<std::collections::HashMap<String, i64>, WarehouseError> {
    let d = wh.dialect();
    // Goods groups (the fixture already has AAA Напитки and AAAAAA Безалкохолни).
    let gg = wh.t(Table::GoodsGroups);
    let existing: Vec<String> = wh
        .query(&format!("SELECT Code FROM {gg}"), &[])?
        .into_iter()
        .map(|r| super::db::clean(&r[0]))
        .collect();
    let mut values = Vec::new();
    for (code, name) in INNER
        .iter()
        .copied()
        .chain(LEAVES.iter().map(|l| (l.0, l.1)))
    {
        if !existing.iter().any(|c| c == code) {
            values.push(format!("({},{})", quote(d, name), quote(d, code)));
        }
    }
    wh.exec(
        &format!("INSERT INTO {gg} (Name, Code) VALUES {}", values.join(",")),
        &[],
    )?;
    let group_id: std::collections::HashMap<String, i64> = wh
        .query(&format!("SELECT Code, ID FROM {gg}"), &[])?
        .into_iter()
        .filter_map(|r| {
            Some((
                super::db::clean(&r[0]),
                super::db::int_of(r[1].as_deref()?)?,
            ))
        })
        .collect();
    Ok(group_id)
}

/// `spec.goods` goods with random names, prices and groups, in batches of multi-row
/// INSERTs; the id of the first.
fn demo_goods(
    wh: &Warehouse,
    spec: &DemoSpec,
    rng: &mut Rng,
    group_id: &std::collections::HashMap<String, i64>,
) -> Result<i64, WarehouseError> {
    let d = wh.dialect();
    // Goods, in batches of multi-row INSERTs.
    let goods = wh.t(Table::Goods);
    let first_id = wh
        .query_i64(&format!("SELECT MAX(ID) FROM {goods}"), &[])?
        .unwrap_or(1)
        + 1;
    let mut batch = Vec::with_capacity(500);
    for i in 0..spec.goods {
        let leaf = &LEAVES[i % LEAVES.len()];
        let word = leaf.3[rng.below(leaf.3.len() as u64) as usize];
        let brand = BRANDS[rng.below(BRANDS.len() as u64) as usize];
        let size = SIZES[rng.below(SIZES.len() as u64) as usize];
        let name = format!("{word} {brand} {size} №{}", i + 1);
        let (lo, hi) = leaf.5;
        let price = lo + rng.below((hi - lo) as u64) as i64;
        let wholesale = price * 85 / 100;
        let cost = price * 60 / 100;
        let code = format!("{}", 100_000 + i);
        let barcode = ean13(380_000_000_000 + i as u64);
        let very_used = if rng.below(10) == 0 { -1 } else { 0 };
        let deleted = if rng.below(200) == 0 { -1 } else { 0 };
        batch.push(format!(
            "({code},{barcode},' ',' ',{cat},' ',' ',{name},{name},{unit},{unit},1,{cost},{wholesale},{price},\
             0,0,0,0,0,0,0,0,0,0,' ',0,0,{vat},{very_used},{group},{deleted})",
            code = quote(d, &code),
            barcode = quote(d, &barcode),
            cat = quote(d, &format!("CAT-{:05}", i + 1)),
            name = quote(d, &name),
            unit = quote(d, leaf.4),
            cost = Money::from_cents(cost),
            wholesale = Money::from_cents(wholesale),
            price = Money::from_cents(price),
            vat = leaf.2,
            group = group_id.get(leaf.0).copied().unwrap_or(1),
        ));
        if batch.len() == 500 || i + 1 == spec.goods {
            wh.exec(
                &format!(
                    "INSERT INTO {goods} (Code, BarCode1, BarCode2, BarCode3, Catalog1, Catalog2, Catalog3, \
                     Name, Name2, Measure1, Measure2, Ratio, PriceIn, PriceOut1, PriceOut2, PriceOut3, \
                     PriceOut4, PriceOut5, PriceOut6, PriceOut7, PriceOut8, PriceOut9, PriceOut10, \
                     MinQtty, NormalQtty, Description, {}, IsRecipe, TaxGroup, IsVeryUsed, GroupID, \
                     Deleted) VALUES {}",
                    d.quote("Type"),
                    batch.join(",")
                ),
                &[],
            )?;
            batch.clear();
        }
    }
    Ok(first_id)
}

/// Stock of every good from `first_id` on in every object (average-price mode).
fn demo_stock(
    wh: &Warehouse,
    rng: &mut Rng,
    first_id: i64,
    goods: usize,
    object_ids: &[i64],
) -> Result<(), WarehouseError> {
    // Stock: one row per (object, good), average-price mode.
    let store = wh.t(Table::Store);
    let insert = |rows: &mut Vec<String>| -> Result<(), WarehouseError> {
        if !rows.is_empty() {
            wh.exec(
                &format!(
                    "INSERT INTO {store} (ObjectID, GoodID, Qtty, Price, Lot, LotID, LotOrder) VALUES {}",
                    rows.join(",")
                ),
                &[],
            )?;
            rows.clear();
        }
        Ok(())
    };
    let mut rows = Vec::with_capacity(500);
    let last_id = first_id + goods as i64 - 1;
    for good in first_id..=last_id {
        for obj in object_ids {
            let qty = if rng.below(5) == 0 { 0 } else { rng.below(120) };
            rows.push(format!("({obj},{good},{qty},0,' ',1,1)"));
            if rows.len() == 500 {
                insert(&mut rows)?;
            }
        }
    }
    insert(&mut rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_with_semicolon_is_escaped() {
        assert_eq!(
            sqlite_connection_string(Path::new("/tmp/a;b.sqlite")),
            "Driver={SQLite3};Database={/tmp/a;b.sqlite};Timeout=30000"
        );
    }

    #[test]
    fn ean13_check_digit() {
        // 380000000000 → check digit computed by the EAN-13 rule.
        assert_eq!(ean13(400_638_133_393), "4006381333931");
    }
}

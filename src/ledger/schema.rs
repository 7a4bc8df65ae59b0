//! The ledger's schema and its migrations. `PRAGMA user_version` holds the number of
//! migrations applied; each migration runs in its own transaction, so a ledger is always
//! at one whole version.

use std::path::Path;

use rusqlite::Connection;

use super::LedgerError;

/// Migrations, oldest first; never edit one that has shipped, add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the first ledger.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per (Import server, shop order): what was decided and done for it.
CREATE TABLE import_orders (
    server_id      TEXT    NOT NULL,
    order_id       INTEGER NOT NULL,
    order_number   TEXT    NOT NULL,
    order_key      TEXT    NOT NULL,
    -- intent: about to be written (the УНП is reserved); written: the document is
    -- committed in the warehouse.
    state          TEXT    NOT NULL CHECK (state IN ('intent', 'written')),
    unp            TEXT UNIQUE,
    doc_oper_type  INTEGER,
    doc_acct       INTEGER,
    doc_created    INTEGER NOT NULL DEFAULT 0,
    detail         TEXT    NOT NULL DEFAULT '',
    -- the order's status on the site: pending until the shop confirmed it.
    status_state   TEXT    NOT NULL DEFAULT 'pending' CHECK (status_state IN ('pending', 'done')),
    -- the order note: pending (not sent), sending (sent, outcome unknown), done.
    note_state     TEXT    NOT NULL DEFAULT 'pending' CHECK (note_state IN ('pending', 'sending', 'done')),
    note_text      TEXT    NOT NULL DEFAULT '',
    created        TEXT    NOT NULL,
    updated        TEXT    NOT NULL,
    PRIMARY KEY (server_id, order_id)
);
CREATE INDEX import_orders_key ON import_orders (server_id, order_key);
CREATE INDEX import_orders_open ON import_orders (server_id, state, status_state, note_state);

-- Fiscal receipts to print: pending -> printing -> printed / failed, or not_due.
CREATE TABLE print_jobs (
    unp               TEXT PRIMARY KEY,
    connector         TEXT    NOT NULL,
    server_id         TEXT,
    order_id          INTEGER,
    order_key         TEXT    NOT NULL,
    acct              INTEGER NOT NULL,
    content           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'printing', 'printed', 'failed', 'not_due')),
    receipt_number    TEXT,
    printed_at        TEXT,
    error             TEXT,
    recorded          INTEGER NOT NULL DEFAULT 0,
    queued            TEXT    NOT NULL,
    updated           TEXT    NOT NULL,
    FOREIGN KEY (server_id, order_id) REFERENCES import_orders (server_id, order_id)
);
CREATE UNIQUE INDEX print_jobs_order ON print_jobs (connector, order_key);
CREATE INDEX print_jobs_state ON print_jobs (connector, state);

-- The last УНП sequence number handed out per fiscal device.
CREATE TABLE unp_sequences (
    serial TEXT PRIMARY KEY,
    last   INTEGER NOT NULL CHECK (last >= 0)
);

-- Where the printing of each document stands on its device (see fiscal::receipt).
CREATE TABLE fiscal_journal (
    serial  TEXT NOT NULL,
    key     TEXT NOT NULL,
    entry   TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (serial, key)
);

-- Export: goods group -> shop category.
CREATE TABLE category_links (
    server_id   TEXT    NOT NULL,
    group_code  TEXT    NOT NULL,
    category_id INTEGER NOT NULL,
    PRIMARY KEY (server_id, group_code)
);

-- Export: SKU -> shop product, with the fingerprint of what was last sent and of what
-- the shop answered to that send.
CREATE TABLE product_links (
    server_id   TEXT    NOT NULL,
    sku         TEXT    NOT NULL,
    product_id  INTEGER NOT NULL,
    sent_fp     TEXT    NOT NULL DEFAULT '',
    answered_fp TEXT    NOT NULL DEFAULT '',
    updated     TEXT    NOT NULL,
    PRIMARY KEY (server_id, sku)
);

-- The run history.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id   TEXT    NOT NULL,
    server_name TEXT    NOT NULL,
    started     TEXT    NOT NULL,
    finished    TEXT    NOT NULL,
    dry_run     INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX runs_started ON runs (started);
CREATE TABLE run_items (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    detail  TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
"#,
    // 2: the warehouse partner of each registered shop customer.
    r#"
CREATE TABLE partners (
    server_id   TEXT    NOT NULL,
    customer_id INTEGER NOT NULL,
    partner_id  INTEGER NOT NULL,
    updated     TEXT    NOT NULL,
    PRIMARY KEY (server_id, customer_id)
);
"#,
    // 3: the export's change detection: how each product link came to be, and the
    // fingerprints of the categories.
    r#"
ALTER TABLE product_links ADD COLUMN origin TEXT NOT NULL DEFAULT 'adopted';
ALTER TABLE product_links ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE product_links ADD COLUMN answered_json TEXT NOT NULL DEFAULT '';
ALTER TABLE category_links ADD COLUMN sent_fp TEXT NOT NULL DEFAULT '';
ALTER TABLE category_links ADD COLUMN answered_fp TEXT NOT NULL DEFAULT '';
"#,
    // 4: storno receipts to print, one per refund of a sale that had its receipt.
    r#"
CREATE TABLE storno_jobs (
    refund_key     TEXT PRIMARY KEY,
    connector      TEXT    NOT NULL,
    unp            TEXT    NOT NULL,
    order_key      TEXT    NOT NULL,
    content        TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'printing', 'printed', 'failed')),
    receipt_number TEXT,
    printed_at     TEXT,
    error          TEXT,
    queued         TEXT    NOT NULL,
    updated        TEXT    NOT NULL
);
CREATE INDEX storno_jobs_state ON storno_jobs (connector, state);
"#,
    // 5: the currency of each run's amounts.
    r#"
ALTER TABLE runs ADD COLUMN currency TEXT NOT NULL DEFAULT '';
"#,
    // 6: refunds taken by an Import server: intent before the return document is
    // written, written (with its storno job, one transaction) or refused.
    r#"
CREATE TABLE import_refunds (
    server_id  TEXT    NOT NULL,
    refund_id  INTEGER NOT NULL,
    order_id   INTEGER NOT NULL,
    refund_key TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('intent', 'written', 'refused')),
    doc_acct   INTEGER,
    detail     TEXT    NOT NULL DEFAULT '',
    created    TEXT    NOT NULL,
    updated    TEXT    NOT NULL,
    PRIMARY KEY (server_id, refund_id)
);
"#,
];

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations the ledger lacks.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(LedgerError::TooNew {
            path: path.display().to_string(),
            found,
            supported: VERSION,
        });
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (n + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

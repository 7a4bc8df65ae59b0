//! The settings form of one server, drawn from a draft that is saved only on Save.

use egui::{Color32, RichText, Ui};

use crate::config::*;
use crate::i18n::{Language, tr, tr_args};
use crate::warehouse::probe::DbInfo;

/// Standard WooCommerce order statuses offered in the status fields (custom ones can be typed).
pub const STANDARD_ORDER_STATUSES: [&str; 7] = [
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
];

/// The form's working copy of a server and of its secret fields.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The server as edited.
    pub server: ServerDef,
    /// True until the server has been saved once.
    pub is_new: bool,
    /// Typed consumer key (empty = keep the stored one).
    pub consumer_key: String,
    /// Typed consumer secret (empty = keep the stored one).
    pub consumer_secret: String,
    /// Typed operator password (empty = keep the stored one).
    pub operator_password: String,
    /// Which secrets are already stored: (key, secret, operator password).
    pub stored: (bool, bool, bool),
    /// Object groups as typed ("1, 2").
    pub object_groups_text: String,
    /// Goods groups as typed ("001, 002001").
    pub goods_groups_text: String,
    /// Import object id as typed.
    pub object_text: String,
    /// Problems found by the last Save.
    pub errors: Vec<FieldError>,
}

impl Draft {
    /// A draft of an existing or new server.
    pub fn new(server: ServerDef, is_new: bool, stored: (bool, bool, bool)) -> Self {
        let (object_groups_text, goods_groups_text, object_text) = match &server.kind {
            ServerKind::Export(e) => (
                e.object_groups
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                e.goods_groups.join(", "),
                String::new(),
            ),
            ServerKind::Import(i) => (
                String::new(),
                String::new(),
                i.object_id.map(|o| o.to_string()).unwrap_or_default(),
            ),
            ServerKind::EShop(_) => (String::new(), String::new(), String::new()),
        };
        Self {
            server,
            is_new,
            consumer_key: String::new(),
            consumer_secret: String::new(),
            operator_password: String::new(),
            stored,
            object_groups_text,
            goods_groups_text,
            object_text,
            errors: Vec::new(),
        }
    }

    /// Copies the typed list fields into the server; returns the fields that do not parse.
    pub fn apply_text_fields(&mut self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let id = self.server.id.clone();
        match &mut self.server.kind {
            ServerKind::Export(e) => {
                match parse_id_list(&self.object_groups_text) {
                    Some(ids) => e.object_groups = ids,
                    None => errors.push(FieldError {
                        server: Some(id.clone()),
                        field: Field::ObjectGroups,
                        problem: Problem::NotNumbers,
                    }),
                }
                e.goods_groups = self
                    .goods_groups_text
                    .split([',', ';', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
            }
            ServerKind::Import(i) => {
                let text = self.object_text.trim();
                if text.is_empty() {
                    i.object_id = None;
                } else {
                    match text.parse::<i64>() {
                        Ok(v) => i.object_id = Some(v),
                        Err(_) => errors.push(FieldError {
                            server: Some(id),
                            field: Field::Object,
                            problem: Problem::NotNumbers,
                        }),
                    }
                }
            }
            ServerKind::EShop(_) => {}
        }
        errors
    }
}

/// Parses "1, 2;3" into ids; `None` when something is not a number.
pub fn parse_id_list(text: &str) -> Option<Vec<i64>> {
    text.split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().ok())
        .collect()
}

/// Lists read from the connected warehouse database, for the pickers (read by the runner).
pub use crate::runner::window::DbLists;

/// Adds `item` to a comma-separated list, or removes it when it is there.
pub fn toggle_in_list(list: &str, item: &str) -> String {
    let mut items: Vec<String> = list
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match items.iter().position(|i| i == item) {
        Some(pos) => {
            items.remove(pos);
        }
        None => items.push(item.to_string()),
    }
    items.join(", ")
}

fn list_picker(
    ui: &mut Ui,
    lang: Language,
    key: &str,
    text: &mut String,
    options: &[(String, String)],
) {
    ui.menu_button(tr(lang, key), |ui| {
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .show(ui, |ui| {
                for (value, name) in options {
                    let chosen = text.split([',', ';', ' ']).any(|t| t.trim() == value);
                    if ui
                        .selectable_label(chosen, format!("{name} [{value}]"))
                        .clicked()
                    {
                        *text = toggle_in_list(text, value);
                    }
                }
            });
    });
}

/// What the form asks the app to do after drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    /// Nothing.
    None,
    /// Save the draft.
    Save,
    /// Drop the draft.
    Cancel,
    /// Re-read the system's serial ports.
    RefreshPorts,
    /// Read the order statuses the shop offers.
    LoadStatuses,
}

/// Context the form needs besides the draft.
pub struct FormContext<'a> {
    /// UI language.
    pub lang: Language,
    /// The saved configuration (for the printing-module list).
    pub config: &'a AppConfig,
    /// The connected database, if any (SUPTO visibility).
    pub db: Option<&'a DbInfo>,
    /// Serial ports found on the system.
    pub ports: &'a [String],
    /// True when secrets can be stored (a keyring is reachable).
    pub can_store_secrets: bool,
    /// Order statuses read from the shop: (slug, name).
    pub site_statuses: &'a [(String, String)],
    /// Lists from the connected database, for the pickers.
    pub lists: Option<&'a DbLists>,
}

fn field_errors(ui: &mut Ui, ctx: &FormContext<'_>, errors: &[FieldError], field: Field) {
    for e in errors.iter().filter(|e| e.field == field) {
        ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), e.message(ctx.lang));
    }
}

/// A labelled one-line text field; the label names the field for screen readers and tests.
pub fn text_row(ui: &mut Ui, label: &str, value: &mut String, password: bool) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(value)
                .password(password)
                .desired_width(360.0),
        )
        .labelled_by(l.id)
    })
    .inner
}

fn secret_row(ui: &mut Ui, ctx: &FormContext<'_>, label: &str, value: &mut String, stored: bool) {
    text_row(ui, label, value, true);
    let hint = if !ctx.can_store_secrets {
        tr(ctx.lang, "form.secret_no_keyring")
    } else if stored {
        tr(ctx.lang, "form.secret_stored")
    } else {
        tr(ctx.lang, "form.secret_not_stored")
    };
    ui.label(RichText::new(hint).small().weak());
}

fn interval_row(ui: &mut Ui, lang: Language, id_salt: &str, label: &str, interval: &mut Interval) {
    ui.horizontal(|ui| {
        let mode_label = |i: &Interval| match i {
            Interval::OnStart => tr(lang, "interval.on_start"),
            Interval::EveryMinutes { .. } => tr(lang, "interval.every_minutes"),
            Interval::EveryHours { .. } => tr(lang, "interval.every_hours"),
            Interval::Daily { .. } => tr(lang, "interval.daily"),
        };
        egui::ComboBox::new(id_salt, label)
            .selected_text(mode_label(interval))
            .show_ui(ui, |ui| {
                for option in [
                    Interval::OnStart,
                    Interval::EveryMinutes { minutes: 15 },
                    Interval::EveryHours { hours: 1 },
                    Interval::Daily { hour: 6, minute: 0 },
                ] {
                    let selected =
                        std::mem::discriminant(interval) == std::mem::discriminant(&option);
                    if ui.selectable_label(selected, mode_label(&option)).clicked() && !selected {
                        *interval = option;
                    }
                }
            });
        match interval {
            Interval::OnStart => {}
            Interval::EveryMinutes { minutes } => {
                let unit = format!(" {}", tr(lang, "interval.minutes_unit"));
                ui.add(
                    egui::DragValue::new(minutes)
                        .range(MINUTES_RANGE)
                        .suffix(unit),
                );
            }
            Interval::EveryHours { hours } => {
                let unit = format!(" {}", tr(lang, "interval.hours_unit"));
                ui.add(egui::DragValue::new(hours).range(HOURS_RANGE).suffix(unit));
            }
            Interval::Daily { hour, minute } => {
                let hours_unit = format!(" {}", tr(lang, "interval.hours_unit"));
                let minutes_unit = format!(" {}", tr(lang, "interval.minutes_unit"));
                ui.add(egui::DragValue::new(hour).range(0..=23).suffix(hours_unit));
                ui.add(
                    egui::DragValue::new(minute)
                        .range(0..=59)
                        .suffix(minutes_unit),
                );
            }
        }
    });
}

/// A combo box choosing one of `options`, each shown by its locale key.
pub(crate) fn choice_row<T: Copy + PartialEq>(
    ui: &mut Ui,
    lang: Language,
    id_salt: &str,
    label: &str,
    value: &mut T,
    options: &[T],
    key: impl Fn(T) -> &'static str,
) {
    egui::ComboBox::new(id_salt, label)
        .selected_text(tr(lang, key(*value)))
        .show_ui(ui, |ui| {
            for option in options {
                ui.selectable_value(value, *option, tr(lang, key(*option)));
            }
        });
}

fn shop_fields(ui: &mut Ui, ctx: &FormContext<'_>, draft: &mut Draft) {
    let lang = ctx.lang;
    let errors = draft.errors.clone();
    let shop = match &mut draft.server.kind {
        ServerKind::Export(e) => &mut e.shop,
        ServerKind::Import(i) => &mut i.shop,
        ServerKind::EShop(_) => return,
    };
    text_row(ui, &tr(lang, "form.address"), &mut shop.address, false);
    ui.label(RichText::new(tr(lang, "form.address_hint")).small().weak());
    field_errors(ui, ctx, &errors, Field::Address);
    interval_row(
        ui,
        lang,
        "send_interval",
        &tr(lang, "form.send_interval"),
        &mut shop.send_interval,
    );
    field_errors(ui, ctx, &errors, Field::SendInterval);
    interval_row(
        ui,
        lang,
        "collect_interval",
        &tr(lang, "form.collect_interval"),
        &mut shop.collect_interval,
    );
    field_errors(ui, ctx, &errors, Field::CollectInterval);
    ui.collapsing(tr(lang, "form.connection_advanced"), |ui| {
        ui.horizontal(|ui| {
            ui.label(tr(lang, "form.connect_timeout"));
            ui.add(
                egui::DragValue::new(&mut shop.connect_timeout_secs)
                    .range(CONNECT_TIMEOUT_RANGE)
                    .suffix(" s"),
            );
            ui.label(tr(lang, "form.request_timeout"));
            ui.add(
                egui::DragValue::new(&mut shop.request_timeout_secs)
                    .range(REQUEST_TIMEOUT_RANGE)
                    .suffix(" s"),
            );
        });
        ui.horizontal(|ui| {
            ui.label(tr(lang, "form.max_batches_in_flight"));
            ui.add(
                egui::DragValue::new(&mut shop.max_batches_in_flight)
                    .range(BATCHES_IN_FLIGHT_RANGE),
            );
        });
        text_row(ui, &tr(lang, "form.ca_file"), &mut shop.ca_file, false);
        ui.checkbox(
            &mut shop.accept_invalid_certs,
            tr(lang, "form.accept_invalid_certs"),
        );
        if shop.accept_invalid_certs {
            ui.colored_label(
                Color32::from_rgb(0xd0, 0x80, 0x00),
                tr(lang, "form.accept_invalid_certs_warning"),
            );
        }
    });
    field_errors(ui, ctx, &errors, Field::ConnectTimeout);
    field_errors(ui, ctx, &errors, Field::RequestTimeout);
    let (stored_key, stored_secret, _) = draft.stored;
    secret_row(
        ui,
        ctx,
        &tr(lang, "form.consumer_key"),
        &mut draft.consumer_key,
        stored_key,
    );
    secret_row(
        ui,
        ctx,
        &tr(lang, "form.consumer_secret"),
        &mut draft.consumer_secret,
        stored_secret,
    );
}

fn status_row(
    ui: &mut Ui,
    lang: Language,
    label: &str,
    value: &mut String,
    site: &[(String, String)],
) {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(egui::TextEdit::singleline(value).desired_width(200.0))
            .labelled_by(l.id);
        ui.menu_button(tr(lang, "form.pick_status"), |ui| {
            if site.is_empty() {
                for status in STANDARD_ORDER_STATUSES {
                    if ui.button(status).clicked() {
                        *value = status.to_string();
                        ui.close();
                    }
                }
            }
            for (slug, name) in site {
                if ui.button(format!("{name} ({slug})")).clicked() {
                    *value = slug.clone();
                    ui.close();
                }
            }
        });
    });
}

fn tax_group_table(ui: &mut Ui, lang: Language, f: &mut EShopSettings) {
    ui.collapsing(tr(lang, "form.tax_groups"), |ui| {
        ui.label(
            RichText::new(tr(lang, "form.tax_groups_hint"))
                .small()
                .weak(),
        );
        let mut remove = None;
        egui::Grid::new("tax_groups").show(ui, |ui| {
            for (i, row) in f.tax_groups.iter_mut().enumerate() {
                let l = ui.label(tr_args(
                    lang,
                    "form.vat_rate_row",
                    &[("n", &(i + 1).to_string())],
                ));
                ui.add(
                    egui::DragValue::new(&mut row.rate_bp)
                        .range(0..=10_000)
                        .custom_formatter(|v, _| format!("{:.2} %", v / 100.0))
                        .custom_parser(|t| {
                            t.trim_end_matches('%')
                                .trim()
                                .replace(',', ".")
                                .parse::<f64>()
                                .ok()
                                .map(|p| p * 100.0)
                        }),
                )
                .labelled_by(l.id);
                let letter = TAX_GROUP_LETTERS
                    .get(usize::from(row.group.max(1)) - 1)
                    .copied()
                    .unwrap_or("?");
                ui.menu_button(
                    tr_args(lang, "form.tax_group", &[("group", letter)]),
                    |ui| {
                        for (n, l) in TAX_GROUP_LETTERS.iter().enumerate() {
                            if ui.button(*l).clicked() {
                                row.group = n as u8 + 1;
                                ui.close();
                            }
                        }
                    },
                );
                if ui.button(tr(lang, "form.remove_row")).clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            f.tax_groups.remove(i);
        }
        if ui.button(tr(lang, "form.add_tax_group")).clicked() {
            f.tax_groups.push(TaxGroupRule {
                rate_bp: 0,
                group: 1,
            });
        }
    });
}

fn payment_choice(ui: &mut Ui, lang: Language, value: &mut ReceiptPayment) {
    ui.menu_button(tr(lang, value.label_key()), |ui| {
        for p in ReceiptPayment::ALL {
            if ui.button(tr(lang, p.label_key())).clicked() {
                *value = p;
                ui.close();
            }
        }
    });
}

fn payment_table(ui: &mut Ui, lang: Language, f: &mut EShopSettings) {
    ui.collapsing(tr(lang, "form.payment_rules"), |ui| {
        ui.label(
            RichText::new(tr(lang, "form.payment_rules_hint"))
                .small()
                .weak(),
        );
        let mut remove = None;
        egui::Grid::new("payment_rules").show(ui, |ui| {
            for (i, row) in f.payment_rules.iter_mut().enumerate() {
                let l = ui.label(format!("{}.", i + 1));
                ui.add(egui::TextEdit::singleline(&mut row.method).desired_width(160.0))
                    .labelled_by(l.id);
                payment_choice(ui, lang, &mut row.payment);
                if ui.button(tr(lang, "form.remove_row")).clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            f.payment_rules.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button(tr(lang, "form.add_payment_rule")).clicked() {
                f.payment_rules.push(PaymentRule {
                    method: String::new(),
                    payment: ReceiptPayment::Cash,
                });
            }
            ui.label(tr(lang, "form.payment_fallback"));
            payment_choice(ui, lang, &mut f.payment_fallback);
        });
    });
}

/// Draws the form; returns what the user asked for.
pub fn show(ui: &mut Ui, ctx: &FormContext<'_>, draft: &mut Draft) -> FormAction {
    let lang = ctx.lang;
    let mut action = FormAction::None;
    let server_type = draft.server.server_type();
    ui.heading(&draft.server.name);
    ui.label(
        RichText::new(crate::i18n::tr_args(
            lang,
            "form.type_line",
            &[("type", &tr(lang, server_type.label_key()))],
        ))
        .weak(),
    );
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .max_height(ui.available_height() - 48.0)
        .show(ui, |ui| {
            text_row(ui, &tr(lang, "form.name"), &mut draft.server.name, false);
            field_errors(ui, ctx, &draft.errors.clone(), Field::Name);
            shop_fields(ui, ctx, draft);
            let errors = draft.errors.clone();
            match &mut draft.server.kind {
                ServerKind::Export(e) => {
                    ui.separator();
                    choice_row(
                        ui,
                        lang,
                        "key_field",
                        &tr(lang, "form.key_field"),
                        &mut e.key_field,
                        &KeyField::ALL,
                        KeyField::label_key,
                    );
                    text_row(
                        ui,
                        &tr(lang, "form.object_groups"),
                        &mut draft.object_groups_text,
                        false,
                    );
                    ui.label(
                        RichText::new(tr(lang, "form.object_groups_hint"))
                            .small()
                            .weak(),
                    );
                    if let Some(lists) = ctx.lists {
                        let options: Vec<(String, String)> = lists
                            .object_groups
                            .iter()
                            .map(|(id, n)| (id.to_string(), n.clone()))
                            .collect();
                        list_picker(
                            ui,
                            lang,
                            "form.pick_object_groups",
                            &mut draft.object_groups_text,
                            &options,
                        );
                    }
                    field_errors(ui, ctx, &errors, Field::ObjectGroups);
                    choice_row(
                        ui,
                        lang,
                        "open_orders",
                        &tr(lang, "form.open_orders"),
                        &mut e.open_orders,
                        &OpenOrders::ALL,
                        OpenOrders::label_key,
                    );
                    ui.label(
                        RichText::new(tr(lang, "form.open_orders_hint"))
                            .small()
                            .weak(),
                    );
                    text_row(
                        ui,
                        &tr(lang, "form.goods_groups"),
                        &mut draft.goods_groups_text,
                        false,
                    );
                    ui.label(
                        RichText::new(tr(lang, "form.goods_groups_hint"))
                            .small()
                            .weak(),
                    );
                    if let Some(lists) = ctx.lists {
                        list_picker(
                            ui,
                            lang,
                            "form.pick_goods_groups",
                            &mut draft.goods_groups_text,
                            &lists.goods_groups,
                        );
                    }
                    choice_row(
                        ui,
                        lang,
                        "goods_status",
                        &tr(lang, "form.goods_status"),
                        &mut e.status,
                        &GoodsStatus::ALL,
                        GoodsStatus::label_key,
                    );
                    ui.horizontal(|ui| {
                        ui.label(tr(lang, "form.price_group"));
                        ui.add(
                            egui::DragValue::new(&mut e.price_group)
                                .range(PRICE_GROUP_RANGE)
                                .prefix("PriceOut"),
                        );
                    });
                    field_errors(ui, ctx, &errors, Field::PriceGroup);
                    ui.checkbox(&mut e.allow_zero_price, tr(lang, "form.allow_zero_price"));
                    ui.checkbox(&mut e.restore_trashed, tr(lang, "form.restore_trashed"));
                    ui.checkbox(&mut e.convert_lev, tr(lang, "euro.convert_lev"));
                    ui.label(
                        RichText::new(tr(lang, "form.restore_trashed_hint"))
                            .small()
                            .weak(),
                    );
                }
                ServerKind::Import(i) => {
                    ui.separator();
                    text_row(ui, &tr(lang, "form.object"), &mut draft.object_text, false);
                    if let Some(lists) = ctx.lists {
                        ui.menu_button(tr(lang, "form.pick_object"), |ui| {
                            for (id, name) in &lists.objects {
                                if ui.button(format!("{name} [{id}]")).clicked() {
                                    draft.object_text = id.to_string();
                                    ui.close();
                                }
                            }
                        });
                    }
                    field_errors(ui, ctx, &errors, Field::Object);
                    choice_row(
                        ui,
                        lang,
                        "import_key_field",
                        &tr(lang, "form.import_key_field"),
                        &mut i.key_field,
                        &KeyField::ALL,
                        KeyField::label_key,
                    );
                    choice_row(
                        ui,
                        lang,
                        "invalid_goods",
                        &tr(lang, "form.invalid_goods"),
                        &mut i.invalid_goods,
                        &InvalidGoods::ALL,
                        InvalidGoods::label_key,
                    );
                    ui.checkbox(&mut i.invoice_shipping, tr(lang, "form.invoice_shipping"));
                    ui.checkbox(&mut i.order_note, tr(lang, "form.order_note"));
                    ui.checkbox(&mut i.convert_lev, tr(lang, "euro.convert_lev"));
                    ui.label(
                        RichText::new(tr(lang, "form.order_note_hint"))
                            .small()
                            .weak(),
                    );
                    choice_row(
                        ui,
                        lang,
                        "document_type",
                        &tr(lang, "form.document_type"),
                        &mut i.document_type,
                        &DocumentType::ALL,
                        DocumentType::label_key,
                    );
                    status_row(
                        ui,
                        lang,
                        &tr(lang, "form.status_for_processing"),
                        &mut i.status_for_processing,
                        ctx.site_statuses,
                    );
                    field_errors(ui, ctx, &errors, Field::StatusForProcessing);
                    status_row(
                        ui,
                        lang,
                        &tr(lang, "form.status_after_processing"),
                        &mut i.status_after_processing,
                        ctx.site_statuses,
                    );
                    if ui.button(tr(lang, "form.load_statuses")).clicked() {
                        action = FormAction::LoadStatuses;
                    }
                    field_errors(ui, ctx, &errors, Field::StatusAfterProcessing);
                    text_row(
                        ui,
                        &tr(lang, "form.order_key_prefix"),
                        &mut i.order_key_prefix,
                        false,
                    );
                    ui.label(
                        RichText::new(tr(lang, "form.order_key_prefix_hint"))
                            .small()
                            .weak(),
                    );
                    field_errors(ui, ctx, &errors, Field::OrderKeyPrefix);
                    supto_section(ui, ctx, i, &errors);
                }
                ServerKind::EShop(f) => {
                    choice_row(
                        ui,
                        lang,
                        "protocol",
                        &tr(lang, "form.driver"),
                        &mut f.protocol,
                        &FiscalProtocol::ALL,
                        FiscalProtocol::label_key,
                    );
                    text_row(ui, &tr(lang, "form.model"), &mut f.model, false);
                    ui.horizontal(|ui| {
                        let l = ui.label(tr(lang, "form.port"));
                        ui.add(egui::TextEdit::singleline(&mut f.port).desired_width(200.0))
                            .labelled_by(l.id);
                        ui.menu_button(tr(lang, "form.pick_port"), |ui| {
                            if ctx.ports.is_empty() {
                                ui.label(tr(lang, "form.no_ports"));
                            }
                            for port in ctx.ports {
                                if ui.button(port).clicked() {
                                    f.port = port.clone();
                                    ui.close();
                                }
                            }
                        });
                        if ui.button(tr(lang, "form.refresh_ports")).clicked() {
                            action = FormAction::RefreshPorts;
                        }
                    });
                    field_errors(ui, ctx, &errors, Field::Port);
                    egui::ComboBox::new("baud", tr(lang, "form.baud_rate"))
                        .selected_text(f.baud_rate.to_string())
                        .show_ui(ui, |ui| {
                            for rate in BAUD_RATES {
                                ui.selectable_value(&mut f.baud_rate, rate, rate.to_string());
                            }
                        });
                    field_errors(ui, ctx, &errors, Field::BaudRate);
                    text_row(
                        ui,
                        &tr(lang, "form.fiscal_number"),
                        &mut f.fiscal_number,
                        false,
                    );
                    field_errors(ui, ctx, &errors, Field::FiscalNumber);
                    text_row(
                        ui,
                        &tr(lang, "form.operator_code"),
                        &mut f.operator_code,
                        false,
                    );
                    field_errors(ui, ctx, &errors, Field::OperatorCode);
                    choice_row(
                        ui,
                        lang,
                        "device_currency",
                        &tr(lang, "euro.device_currency"),
                        &mut f.device_currency,
                        &DeviceCurrencySetting::ALL,
                        DeviceCurrencySetting::label_key,
                    );
                    let stored = draft.stored.2;
                    secret_row(
                        ui,
                        ctx,
                        &tr(lang, "form.operator_password"),
                        &mut draft.operator_password,
                        stored,
                    );
                    tax_group_table(ui, lang, f);
                    field_errors(ui, ctx, &errors, Field::TaxGroups);
                    payment_table(ui, lang, f);
                    field_errors(ui, ctx, &errors, Field::PaymentRules);
                }
            }
        });
    ui.separator();
    ui.horizontal(|ui| {
        if ui.button(tr(lang, "form.save")).clicked() {
            action = FormAction::Save;
        }
        if ui.button(tr(lang, "form.cancel")).clicked() {
            action = FormAction::Cancel;
        }
        if !draft.errors.is_empty() {
            ui.colored_label(
                Color32::from_rgb(0xd0, 0x30, 0x30),
                tr(lang, "save.invalid"),
            );
        }
    });
    action
}

/// The SUPTO setting of an Import form: the switch and its e-Shop Connector when the
/// database supports SUPTO; otherwise why not, still showing a setting that is on so it
/// can be turned off.
fn supto_section(
    ui: &mut Ui,
    ctx: &FormContext<'_>,
    i: &mut ImportSettings,
    errors: &[FieldError],
) {
    let lang = ctx.lang;
    match ctx.db {
        Some(db) if db.supports_supto() => {
            ui.checkbox(&mut i.supto_mode, tr(lang, "form.supto_mode"));
            if i.supto_mode {
                let connectors: Vec<String> = ctx
                    .config
                    .servers
                    .iter()
                    .filter(|s| s.server_type() == ServerType::EShop)
                    .map(|s| s.name.clone())
                    .collect();
                let shown = if i.printing_module.is_empty() {
                    tr(lang, "form.choose")
                } else {
                    i.printing_module.clone()
                };
                egui::ComboBox::new("printing_module", tr(lang, "form.printing_module"))
                    .selected_text(shown)
                    .show_ui(ui, |ui| {
                        for name in connectors {
                            ui.selectable_value(&mut i.printing_module, name.clone(), name);
                        }
                    });
                field_errors(ui, ctx, errors, Field::PrintingModule);
            }
        }
        Some(db) => {
            // A SUPTO setting that is on is always shown, with why the run
            // refuses it, so it can be turned off.
            if i.supto_mode {
                ui.checkbox(&mut i.supto_mode, tr(lang, "form.supto_mode"));
            }
            let text = crate::i18n::tr_args(lang, "form.supto_old_db", &[("version", &db.version)]);
            if i.supto_mode {
                ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), text);
            } else {
                ui.label(RichText::new(text).weak());
            }
        }
        None => {
            if i.supto_mode {
                ui.checkbox(&mut i.supto_mode, tr(lang, "form.supto_mode"));
                ui.label(RichText::new(tr(lang, "form.supto_on_unchecked")).weak());
            } else {
                ui.label(RichText::new(tr(lang, "form.supto_no_db")).weak());
            }
        }
    }
}

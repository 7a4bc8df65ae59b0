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
    /// The server and the typed lists as the form opened, to tell unsaved changes.
    original: (ServerDef, [String; 3]),
}

impl Draft {
    /// True when something was changed since the form opened (or was last saved).
    pub fn is_dirty(&self) -> bool {
        let texts = [
            self.object_groups_text.clone(),
            self.goods_groups_text.clone(),
            self.object_text.clone(),
        ];
        self.server != self.original.0
            || texts != self.original.1
            || !self.consumer_key.is_empty()
            || !self.consumer_secret.is_empty()
            || !self.operator_password.is_empty()
    }

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
        let original = (
            server.clone(),
            [
                object_groups_text.clone(),
                goods_groups_text.clone(),
                object_text.clone(),
            ],
        );
        Self {
            original,
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

/// A list of ids chosen by name: the chosen names (elided, in full on hover) and a menu
/// that adds or removes one; the ids stay in `text`, each shown only as a tooltip.
fn list_picker(
    ui: &mut Ui,
    lang: Language,
    label: &str,
    key: &str,
    text: &mut String,
    options: &[(String, String)],
) {
    let chosen: Vec<&str> = text
        .split([',', ';', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let names: Vec<String> = chosen
        .iter()
        .map(|id| {
            options
                .iter()
                .find(|(value, _)| value == id)
                .map(|(_, name)| name.trim().to_string())
                .unwrap_or_else(|| (*id).to_string())
        })
        .collect();
    row(ui, label, |ui, _| {
        ui.menu_button(tr(lang, key), |ui| {
            egui::ScrollArea::vertical()
                .max_height(320.0)
                .show(ui, |ui| {
                    for (value, name) in options {
                        let on = text.split([',', ';', ' ']).any(|t| t.trim() == value);
                        if ui
                            .selectable_label(on, name)
                            .on_hover_text(tr_args(lang, "form.id_tooltip", &[("id", value)]))
                            .clicked()
                        {
                            *text = toggle_in_list(text, value);
                        }
                    }
                });
        });
        let shown = if names.is_empty() {
            tr(lang, "form.none_chosen")
        } else {
            names.join(", ")
        };
        ui.add(egui::Label::new(RichText::new(shown).weak()).truncate());
    });
}

/// One id chosen by name from `options` (id, name); the id stays in `text`.
fn one_picker(
    ui: &mut Ui,
    lang: Language,
    id_salt: &str,
    label: &str,
    text: &mut String,
    options: &[(i64, String)],
) {
    let current = text.trim().parse::<i64>().ok();
    let shown = match current.and_then(|c| options.iter().find(|(id, _)| *id == c)) {
        Some((_, name)) => name.clone(),
        None if text.trim().is_empty() => tr(lang, "form.choose"),
        None => text.clone(),
    };
    row(ui, label, |ui, l| {
        egui::ComboBox::from_id_salt(id_salt)
            .selected_text(shown)
            .width(field_width(ui) - 30.0)
            .show_ui(ui, |ui| {
                for (id, name) in options {
                    if ui
                        .selectable_label(current == Some(*id), name)
                        .on_hover_text(tr_args(lang, "form.id_tooltip", &[("id", &id.to_string())]))
                        .clicked()
                    {
                        *text = id.to_string();
                    }
                }
            })
            .response
            .labelled_by(l);
    });
}

/// The shop's name of an order status; the standard ones in the window's language when
/// the shop was not asked.
fn status_name(lang: Language, slug: &str, site: &[(String, String)]) -> String {
    let bare = slug.strip_prefix("wc-").unwrap_or(slug);
    if let Some((_, name)) = site
        .iter()
        .find(|(s, _)| s == slug || s.strip_prefix("wc-").unwrap_or(s) == bare)
    {
        return name.clone();
    }
    let key = match bare {
        "pending" => "order_status.pending",
        "processing" => "order_status.processing",
        "on-hold" => "order_status.on_hold",
        "completed" => "order_status.completed",
        "cancelled" => "order_status.cancelled",
        "refunded" => "order_status.refunded",
        "failed" => "order_status.failed",
        _ => return slug.to_string(),
    };
    tr(lang, key)
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
    /// Put this form aside and open a new e-Shop Connector (SUPTO needs one).
    CreateConnector,
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

// The form is one egui `Grid` of two columns: the label left, the control right, a hint
// or an error under the control in the right column. Every field is added through one of
// the row helpers below (`row`, `text_field`, `check_row`, `hint_row`, `wide_row`), so a
// new field keeps the grid by using one of them.

/// A row: `label` in the left column, `control` (given the label's id, to name the control
/// for screen readers and tests) in the right one.
pub fn row<R>(ui: &mut Ui, label: &str, control: impl FnOnce(&mut Ui, egui::Id) -> R) -> R {
    // A long label wraps in its column instead of pushing the controls out of sight.
    let l = ui
        .horizontal(|ui| {
            ui.set_max_width(LABEL_WIDTH);
            ui.add(egui::Label::new(label).wrap())
        })
        .inner;
    let r = ui.horizontal(|ui| control(ui, l.id)).inner;
    ui.end_row();
    r
}

/// A row with nothing on the left: `content` in the right column (collapsible tables,
/// buttons that belong to the field above).
pub fn wide_row<R>(ui: &mut Ui, content: impl FnOnce(&mut Ui) -> R) -> R {
    ui.label("");
    let r = ui.vertical(content).inner;
    ui.end_row();
    r
}

/// A hint under the field above, readable (not small).
pub fn hint_row(ui: &mut Ui, text: &str) {
    wide_row(ui, |ui| {
        ui.set_max_width(field_width(ui));
        ui.add(egui::Label::new(RichText::new(text).weak()).wrap());
    });
}

/// A checkbox in the right column, its text beside it.
fn check_row(ui: &mut Ui, value: &mut bool, text: String) -> egui::Response {
    wide_row(ui, |ui| ui.checkbox(value, text))
}

/// A one-line text field as a row of the form's grid.
pub fn text_field(ui: &mut Ui, label: &str, value: &mut String, password: bool) -> egui::Response {
    row(ui, label, |ui, l| {
        ui.add(
            egui::TextEdit::singleline(value)
                .password(password)
                .desired_width(field_width(ui)),
        )
        .labelled_by(l)
    })
}

/// The widest the labels' column gets; longer labels wrap.
const LABEL_WIDTH: f32 = 210.0;

/// The width of text fields and pickers: wide enough for an address or a name.
const FIELD_WIDTH: f32 = 340.0;

/// [`FIELD_WIDTH`], or less when the window is narrower (a little room kept for the
/// scroll bar).
fn field_width(ui: &Ui) -> f32 {
    (ui.available_width() - 12.0).clamp(120.0, FIELD_WIDTH)
}

/// The errors found for `field`, under it.
fn field_errors(ui: &mut Ui, ctx: &FormContext<'_>, errors: &[FieldError], field: Field) {
    let found: Vec<String> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message(ctx.lang))
        .collect();
    if !found.is_empty() {
        wide_row(ui, |ui| {
            for text in found {
                ui.colored_label(Color32::from_rgb(0xd0, 0x30, 0x30), text);
            }
        });
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
    text_field(ui, label, value, true);
    let hint = if !ctx.can_store_secrets {
        tr(ctx.lang, "form.secret_no_keyring")
    } else if stored {
        tr(ctx.lang, "form.secret_stored")
    } else {
        tr(ctx.lang, "form.secret_not_stored")
    };
    hint_row(ui, &hint);
}

fn interval_row(ui: &mut Ui, lang: Language, id_salt: &str, label: &str, interval: &mut Interval) {
    row(ui, label, |ui, l| {
        let mode_label = |i: &Interval| match i {
            Interval::OnStart => tr(lang, "interval.on_start"),
            Interval::EveryMinutes { .. } => tr(lang, "interval.every_minutes"),
            Interval::EveryHours { .. } => tr(lang, "interval.every_hours"),
            Interval::Daily { .. } => tr(lang, "interval.daily"),
        };
        egui::ComboBox::from_id_salt(id_salt)
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
            })
            .response
            .labelled_by(l);
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
    row(ui, label, |ui, l| {
        egui::ComboBox::from_id_salt(id_salt)
            .selected_text(tr(lang, key(*value)))
            .width(field_width(ui) - 30.0)
            .show_ui(ui, |ui| {
                for option in options {
                    ui.selectable_value(value, *option, tr(lang, key(*option)));
                }
            })
            .response
            .labelled_by(l);
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
    text_field(ui, &tr(lang, "form.address"), &mut shop.address, false);
    hint_row(ui, &tr(lang, "form.address_hint"));
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
    wide_row(ui, |ui| {
        ui.collapsing(tr(lang, "form.connection_advanced"), |ui| {
            ui.horizontal(|ui| {
                let seconds = tr(lang, "database.seconds_suffix");
                let l = ui.label(tr(lang, "form.connect_timeout"));
                ui.add(
                    egui::DragValue::new(&mut shop.connect_timeout_secs)
                        .range(CONNECT_TIMEOUT_RANGE)
                        .suffix(seconds.clone()),
                )
                .labelled_by(l.id);
                let l = ui.label(tr(lang, "form.request_timeout"));
                ui.add(
                    egui::DragValue::new(&mut shop.request_timeout_secs)
                        .range(REQUEST_TIMEOUT_RANGE)
                        .suffix(seconds),
                )
                .labelled_by(l.id);
            });
            text_row(ui, &tr(lang, "form.ca_file"), &mut shop.ca_file, false);
            ui.checkbox(
                &mut shop.accept_invalid_certs,
                tr(lang, "form.accept_invalid_certs"),
            );
            ui.horizontal(|ui| {
                let l = ui.label(tr(lang, "form.max_batches_in_flight"));
                ui.add(
                    egui::DragValue::new(&mut shop.max_batches_in_flight)
                        .range(BATCHES_IN_FLIGHT_RANGE),
                )
                .labelled_by(l.id);
            });
            if shop.accept_invalid_certs {
                ui.colored_label(
                    Color32::from_rgb(0xd0, 0x80, 0x00),
                    tr(lang, "form.accept_invalid_certs_warning"),
                );
            }
        })
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
    row(ui, label, |ui, l| {
        ui.add(egui::TextEdit::singleline(value).desired_width(140.0))
            .labelled_by(l)
            .on_hover_text(tr(lang, "form.status_slug_hint"));
        let shown = if value.trim().is_empty() {
            tr(lang, "form.choose")
        } else {
            status_name(lang, value.trim(), site)
        };
        ui.menu_button(shown, |ui| {
            let standard: Vec<(String, String)>;
            let options = if site.is_empty() {
                standard = STANDARD_ORDER_STATUSES
                    .iter()
                    .map(|s| (s.to_string(), status_name(lang, s, &[])))
                    .collect();
                &standard
            } else {
                site
            };
            for (slug, name) in options {
                if ui
                    .button(name)
                    .on_hover_text(tr_args(lang, "form.slug_tooltip", &[("slug", slug)]))
                    .clicked()
                {
                    *value = slug.clone();
                    ui.close();
                }
            }
        })
        .response
        .on_hover_text(tr_args(
            lang,
            "form.slug_tooltip",
            &[("slug", value.as_str())],
        ));
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
                ui.add(egui::TextEdit::singleline(&mut row.method).desired_width(220.0))
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
            egui::Grid::new("form_grid")
                .num_columns(2)
                .spacing([12.0, 5.0])
                .show(ui, |ui| {
                    text_field(ui, &tr(lang, "form.name"), &mut draft.server.name, false);
                    field_errors(ui, ctx, &draft.errors.clone(), Field::Name);
                    shop_fields(ui, ctx, draft);
                    let errors = draft.errors.clone();
                    match &mut draft.server.kind {
                        ServerKind::Export(e) => export_fields(
                            ui,
                            ctx,
                            e,
                            &mut draft.object_groups_text,
                            &mut draft.goods_groups_text,
                            &errors,
                        ),
                        ServerKind::Import(i) => {
                            action = import_fields(ui, ctx, i, &mut draft.object_text, &errors);
                        }
                        ServerKind::EShop(f) => {
                            let stored = draft.stored.2;
                            action = eshop_fields(
                                ui,
                                ctx,
                                f,
                                &mut draft.operator_password,
                                stored,
                                &errors,
                            );
                        }
                    }
                });
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

/// The Export server's own rows of the form grid.
fn export_fields(
    ui: &mut Ui,
    ctx: &FormContext<'_>,
    e: &mut ExportSettings,
    groups_text: &mut String,
    goods_text: &mut String,
    errors: &[FieldError],
) {
    let lang = ctx.lang;
    wide_row(ui, |ui| ui.separator());
    choice_row(
        ui,
        lang,
        "key_field",
        &tr(lang, "form.key_field"),
        &mut e.key_field,
        &KeyField::ALL,
        KeyField::label_key,
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
            &tr(lang, "form.object_groups"),
            "form.pick_object_groups",
            groups_text,
            &options,
        );
    } else {
        text_field(ui, &tr(lang, "form.object_groups"), groups_text, false);
    }
    hint_row(ui, &tr(lang, "form.object_groups_hint"));
    field_errors(ui, ctx, errors, Field::ObjectGroups);
    choice_row(
        ui,
        lang,
        "open_orders",
        &tr(lang, "form.open_orders"),
        &mut e.open_orders,
        &OpenOrders::ALL,
        OpenOrders::label_key,
    );
    hint_row(ui, &tr(lang, "form.open_orders_hint"));
    if let Some(lists) = ctx.lists {
        list_picker(
            ui,
            lang,
            &tr(lang, "form.goods_groups"),
            "form.pick_goods_groups",
            goods_text,
            &lists.goods_groups,
        );
    } else {
        text_field(ui, &tr(lang, "form.goods_groups"), goods_text, false);
    }
    hint_row(ui, &tr(lang, "form.goods_groups_hint"));
    choice_row(
        ui,
        lang,
        "goods_status",
        &tr(lang, "form.goods_status"),
        &mut e.status,
        &GoodsStatus::ALL,
        GoodsStatus::label_key,
    );
    price_group_row(ui, lang, &mut e.price_group);
    field_errors(ui, ctx, errors, Field::PriceGroup);
    check_row(
        ui,
        &mut e.allow_zero_price,
        tr(lang, "form.allow_zero_price"),
    );
    check_row(ui, &mut e.restore_trashed, tr(lang, "form.restore_trashed"));
    hint_row(ui, &tr(lang, "form.restore_trashed_hint"));
    check_row(ui, &mut e.convert_lev, tr(lang, "euro.convert_lev"));
    row(ui, &tr(lang, "form.full_read_hours"), |ui, l| {
        ui.add(egui::DragValue::new(&mut e.full_read_hours).range(0..=168))
            .labelled_by(l);
    });
}

/// The Import server's own rows of the form grid; the action a button asked for.
fn import_fields(
    ui: &mut Ui,
    ctx: &FormContext<'_>,
    i: &mut ImportSettings,
    object_text: &mut String,
    errors: &[FieldError],
) -> FormAction {
    let lang = ctx.lang;
    let mut action = FormAction::None;
    wide_row(ui, |ui| ui.separator());
    match ctx.lists {
        Some(lists) => one_picker(
            ui,
            lang,
            "import_object",
            &tr(lang, "form.object_name"),
            object_text,
            &lists.objects,
        ),
        None => {
            text_field(ui, &tr(lang, "form.object"), object_text, false);
            hint_row(ui, &tr(lang, "form.object_hint"));
        }
    }
    field_errors(ui, ctx, errors, Field::Object);
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
    check_row(
        ui,
        &mut i.invoice_shipping,
        tr(lang, "form.invoice_shipping"),
    );
    check_row(ui, &mut i.order_note, tr(lang, "form.order_note"));
    hint_row(ui, &tr(lang, "form.order_note_hint"));
    check_row(ui, &mut i.convert_lev, tr(lang, "euro.convert_lev"));
    let mut refunds = i.takes_refunds();
    if check_row(ui, &mut refunds, tr(lang, "form.take_refunds")).changed() {
        i.take_refunds = Some(refunds);
    }
    hint_row(ui, &tr(lang, "form.take_refunds_hint"));
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
    field_errors(ui, ctx, errors, Field::StatusForProcessing);
    status_row(
        ui,
        lang,
        &tr(lang, "form.status_after_processing"),
        &mut i.status_after_processing,
        ctx.site_statuses,
    );
    if wide_row(ui, |ui| ui.button(tr(lang, "form.load_statuses")).clicked()) {
        action = FormAction::LoadStatuses;
    }
    field_errors(ui, ctx, errors, Field::StatusAfterProcessing);
    text_field(
        ui,
        &tr(lang, "form.order_key_prefix"),
        &mut i.order_key_prefix,
        false,
    );
    hint_row(ui, &tr(lang, "form.order_key_prefix_hint"));
    field_errors(ui, ctx, errors, Field::OrderKeyPrefix);
    if supto_section(ui, ctx, i, errors) {
        action = FormAction::CreateConnector;
    }
    action
}

/// The e-Shop Connector's own rows of the form grid; the action a button asked for.
fn eshop_fields(
    ui: &mut Ui,
    ctx: &FormContext<'_>,
    f: &mut EShopSettings,
    operator_password: &mut String,
    stored: bool,
    errors: &[FieldError],
) -> FormAction {
    let lang = ctx.lang;
    let mut action = FormAction::None;
    choice_row(
        ui,
        lang,
        "protocol",
        &tr(lang, "form.driver"),
        &mut f.protocol,
        &FiscalProtocol::ALL,
        FiscalProtocol::label_key,
    );
    text_field(ui, &tr(lang, "form.model"), &mut f.model, false);
    row(ui, &tr(lang, "form.port"), |ui, l| {
        ui.add(egui::TextEdit::singleline(&mut f.port).desired_width(200.0))
            .labelled_by(l);
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
    field_errors(ui, ctx, errors, Field::Port);
    row(ui, &tr(lang, "form.baud_rate"), |ui, l| {
        egui::ComboBox::from_id_salt("baud")
            .selected_text(f.baud_rate.to_string())
            .show_ui(ui, |ui| {
                for rate in BAUD_RATES {
                    ui.selectable_value(&mut f.baud_rate, rate, rate.to_string());
                }
            })
            .response
            .labelled_by(l);
    });
    field_errors(ui, ctx, errors, Field::BaudRate);
    text_field(
        ui,
        &tr(lang, "form.fiscal_number"),
        &mut f.fiscal_number,
        false,
    );
    field_errors(ui, ctx, errors, Field::FiscalNumber);
    text_field(
        ui,
        &tr(lang, "form.operator_code"),
        &mut f.operator_code,
        false,
    );
    field_errors(ui, ctx, errors, Field::OperatorCode);
    choice_row(
        ui,
        lang,
        "device_currency",
        &tr(lang, "euro.device_currency"),
        &mut f.device_currency,
        &DeviceCurrencySetting::ALL,
        DeviceCurrencySetting::label_key,
    );
    secret_row(
        ui,
        ctx,
        &tr(lang, "form.operator_password"),
        operator_password,
        stored,
    );
    wide_row(ui, |ui| tax_group_table(ui, lang, f));
    field_errors(ui, ctx, errors, Field::TaxGroups);
    wide_row(ui, |ui| payment_table(ui, lang, f));
    field_errors(ui, ctx, errors, Field::PaymentRules);
    action
}

/// The price groups by the names Warehouse Pro gives them (`PriceOut1` wholesale,
/// `PriceOut2` retail, then price groups 1–8); the column only as a tooltip.
fn price_group_row(ui: &mut Ui, lang: Language, value: &mut u8) {
    let name = |n: u8| match n {
        1 => tr(lang, "price_group.wholesale"),
        2 => tr(lang, "price_group.retail"),
        n => tr_args(lang, "price_group.other", &[("n", &(n - 2).to_string())]),
    };
    row(ui, &tr(lang, "form.price_group"), |ui, l| {
        egui::ComboBox::from_id_salt("price_group")
            .selected_text(name(*value))
            .width(220.0)
            .show_ui(ui, |ui| {
                for n in PRICE_GROUP_RANGE {
                    ui.selectable_value(value, n, name(n))
                        .on_hover_text(format!("PriceOut{n}"));
                }
            })
            .response
            .labelled_by(l)
            .on_hover_text(format!("PriceOut{value}"));
    });
}

/// The SUPTO setting of an Import form: the switch and its e-Shop Connector when the
/// database supports SUPTO; otherwise why not, still showing a setting that is on so it
/// can be turned off. True when „Създай e-Shop Connector“ was pressed.
fn supto_section(
    ui: &mut Ui,
    ctx: &FormContext<'_>,
    i: &mut ImportSettings,
    errors: &[FieldError],
) -> bool {
    let mut create = false;
    let lang = ctx.lang;
    match ctx.db {
        Some(db) if db.supports_supto() => {
            check_row(ui, &mut i.supto_mode, tr(lang, "form.supto_mode"));
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
                if connectors.is_empty() {
                    hint_row(ui, &tr(lang, "form.no_connector"));
                } else {
                    row(ui, &tr(lang, "form.printing_module"), |ui, l| {
                        egui::ComboBox::from_id_salt("printing_module")
                            .selected_text(shown)
                            .show_ui(ui, |ui| {
                                for name in connectors {
                                    ui.selectable_value(&mut i.printing_module, name.clone(), name);
                                }
                            })
                            .response
                            .labelled_by(l);
                    });
                }
                if wide_row(ui, |ui| {
                    ui.button(tr(lang, "form.create_connector")).clicked()
                }) {
                    create = true;
                }
                field_errors(ui, ctx, errors, Field::PrintingModule);
            }
        }
        Some(db) => {
            // A SUPTO setting that is on is always shown, with why the run
            // refuses it, so it can be turned off.
            if i.supto_mode {
                check_row(ui, &mut i.supto_mode, tr(lang, "form.supto_mode"));
            }
            let text = crate::i18n::tr_args(lang, "form.supto_old_db", &[("version", &db.version)]);
            if i.supto_mode {
                wide_row(ui, |ui| {
                    ui.add(
                        egui::Label::new(
                            RichText::new(text).color(Color32::from_rgb(0xd0, 0x30, 0x30)),
                        )
                        .wrap(),
                    )
                });
            } else {
                hint_row(ui, &text);
            }
        }
        None => {
            if i.supto_mode {
                check_row(ui, &mut i.supto_mode, tr(lang, "form.supto_mode"));
                hint_row(ui, &tr(lang, "form.supto_on_unchecked"));
            } else {
                hint_row(ui, &tr(lang, "form.supto_no_db"));
            }
        }
    }
    create
}

//! The embedded fonts (DejaVu Sans: full Cyrillic and the symbols the UI uses).

use std::sync::Arc;

use egui::{FontData, FontDefinitions, FontFamily};

const SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const MONO: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

/// Installs the embedded fonts first in both families; egui's own stay as fallbacks.
pub fn install(ctx: &egui::Context) {
    let mut fonts = FontDefinitions::default();
    fonts
        .font_data
        .insert("dejavu-sans".into(), Arc::new(FontData::from_static(SANS)));
    fonts
        .font_data
        .insert("dejavu-mono".into(), Arc::new(FontData::from_static(MONO)));
    fonts
        .families
        .entry(FontFamily::Proportional)
        .or_default()
        .insert(0, "dejavu-sans".into());
    fonts
        .families
        .entry(FontFamily::Monospace)
        .or_default()
        .insert(0, "dejavu-mono".into());
    ctx.set_fonts(fonts);
}

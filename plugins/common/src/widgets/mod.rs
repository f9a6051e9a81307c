//! egui widgets both plugin editors are built from. They know nice-plug's `Param` and
//! `ParamSetter` but no plugin's parameters: each plugin's `editor/` module lays them out.
//!
//! - [`knob`]: a rotary knob bound to a parameter (drag, shift = fine, double-click = default,
//!   click the value to type one), [`ParamToggle`] and [`ParamChoice`] for switches and enums.
//! - [`ab`]: A/B slots of complete plugin states.
//! - [`eq_curve`]: the EQ response on a log-frequency axis over a pre/post spectrum, with
//!   draggable band handles that report edits for the caller to apply.
//! - [`eq_panel`]: the curve bound to the shared `EqParams`, with the selected band's controls.
//! - [`meter`]: vertical level meters (peak + loudness with hold), gain-reduction and
//!   correlation meters.
//! - [`link_field`]: a text field bound to the Stem Link's saved group or stem name.
//! - [`history`]: a scrolling trace (gain reduction, loudness history with a target line).
//! - [`readout`]: a grid of labelled numbers.
//! - [`window`]: the resizable editor frame whose size survives in the plugin state.
//! - [`theme`]: colours and the egui style the editors share.

pub mod ab;
pub mod eq_curve;
pub mod eq_panel;
pub mod history;
pub mod knob;
pub mod link_field;
pub mod meter;
pub mod readout;
pub mod theme;
pub mod window;

pub use ab::AbCompare;
pub use eq_curve::{BandEdit, BandHandle, EqCurveView};
pub use eq_panel::{EqLive, EqPanel};
pub use history::HistoryPlot;
pub use knob::{knob_row, switched_section, SECTION_KNOB_DIAMETER};
pub use knob::{ControlTarget, ParamChoice, ParamKnob, ParamToggle};
pub use link_field::{LinkSessionField, SessionField};
pub use meter::{CorrelationMeter, GainReductionMeter, LevelMeter, MeterHold};
pub use readout::{Readout, ReadoutGrid};
pub use window::{
    column, create_resizable_editor, CloseHook, EditorApp, EditorLayout, EditorSize, EditorWindow,
};

#[cfg(test)]
mod tests;

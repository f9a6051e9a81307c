//! Controls for a whole parameter group, found by walking `Params::param_map()`: every
//! parameter of a section gets the control that suits it (a switch for booleans, a selector
//! for short lists, a knob for everything continuous), in the order the plugin declares them.
//! Editors lay out the parts they draw specially (EQ curve, meters) themselves and use this
//! for plain sections, so a parameter added to a section shows up without editor changes.

use std::sync::Arc;

use egui::Ui;
use nice_plug::prelude::{ParamFlags, ParamSetter, Params};

use super::knob::{ControlTarget, ParamChoice, ParamKnob, ParamToggle, RawParam};

/// Stepped parameters with at most this many values get buttons instead of a knob.
const MAX_BUTTON_CHOICES: usize = 4;
/// ... and at most this many a drop-down.
const MAX_LIST_CHOICES: usize = 24;

/// One parameter of a group.
#[derive(Clone)]
pub struct GroupParam {
    /// The parameter's stable id (`#[id]`, prefixed by nested ids).
    pub id: String,
    pub param: RawParam,
}

/// A plugin's parameters by group, in declaration order.
pub struct ParamGroups {
    groups: Vec<(String, Vec<GroupParam>)>,
    /// Keeps the params (and so every pointer above) alive.
    _owner: Arc<dyn Params>,
}

impl ParamGroups {
    pub fn new(params: Arc<dyn Params>) -> Self {
        let mut groups: Vec<(String, Vec<GroupParam>)> = Vec::new();
        for (id, ptr, group) in params.param_map() {
            let entry = GroupParam {
                id,
                param: RawParam(ptr),
            };
            match groups.iter_mut().find(|(name, _)| *name == group) {
                Some((_, list)) => list.push(entry),
                None => groups.push((group, vec![entry])),
            }
        }
        Self {
            groups,
            _owner: params,
        }
    }

    /// The parameters of `group` (e.g. `"Compressor"`, or `"EQ/Band 1"` for nested groups).
    pub fn group(&self, group: &str) -> &[GroupParam] {
        self.groups
            .iter()
            .find(|(name, _)| name == group)
            .map(|(_, list)| list.as_slice())
            .unwrap_or(&[])
    }

    /// Group names in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|(name, _)| name.as_str())
    }

    /// The parameter with stable id `id`, anywhere.
    pub fn by_id(&self, id: &str) -> Option<RawParam> {
        self.groups
            .iter()
            .flat_map(|(_, list)| list.iter())
            .find(|p| p.id == id)
            .map(|p| p.param)
    }
}

/// Whether a parameter is a switch (two values).
pub fn is_switch(param: &RawParam) -> bool {
    param.step_count() == Some(1)
}

/// Whether a parameter is the plugin's or a section's bypass.
pub fn is_bypass(param: &RawParam) -> bool {
    // SAFETY: see `RawParam`.
    unsafe { param.0.flags() }.contains(ParamFlags::BYPASS)
}

/// Draws a control for every parameter in `params`, wrapping into rows: switches first (they
/// read like a section's mode line), then selectors, then knobs.
pub fn group_controls(ui: &mut Ui, params: &[GroupParam], setter: &ParamSetter) {
    let switches = params.iter().filter(|p| is_switch(&p.param));
    let choices = params.iter().filter(|p| {
        !is_switch(&p.param)
            && p.param
                .step_count()
                .is_some_and(|steps| steps + 1 <= MAX_LIST_CHOICES)
    });
    let knobs = params.iter().filter(|p| {
        p.param
            .step_count()
            .is_none_or(|steps| steps + 1 > MAX_LIST_CHOICES)
    });
    ui.horizontal_wrapped(|ui| {
        for p in switches {
            ui.add(ParamToggle::for_param(&p.param, setter));
        }
    });
    for p in choices {
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new(p.param.name())
                    .font(super::theme::small_font())
                    .color(super::theme::TEXT_DIM),
            );
            let choice = ParamChoice::for_param(&p.param, setter);
            if p.param.step_count().unwrap_or(0) + 1 > MAX_BUTTON_CHOICES {
                ui.add(choice.combo());
            } else {
                ui.add(choice);
            }
        });
    }
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 2.0;
        for p in knobs {
            ui.add(ParamKnob::for_param(&p.param, setter));
        }
    });
}

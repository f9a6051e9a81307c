//! A text field bound to one field of the Stem Link's saved session (the group, or a stem's
//! name): typed freely, applied when the field loses focus (Return or a click elsewhere), so
//! the link re-joins once per edit, not per keystroke.

use crate::link_session::{LinkSession, LinkSettings};
use egui::Ui;

/// Which field of the session the text edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionField {
    Group,
    Name,
}

impl SessionField {
    fn get(self, session: &LinkSession) -> &str {
        match self {
            Self::Group => &session.group,
            Self::Name => &session.name,
        }
    }

    fn set(self, session: &mut LinkSession, text: String) {
        match self {
            Self::Group => session.group = text,
            Self::Name => session.name = text,
        }
    }
}

/// The field's text between frames (`None` until first shown: then it is the saved value).
#[derive(Clone, Debug, Default)]
pub struct LinkSessionField {
    text: Option<String>,
}

impl LinkSessionField {
    /// Draws the field; `hint` shows while it is empty (the value in effect: the default group,
    /// the stem type). Returns the field's response for a hover text.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        settings: &LinkSettings,
        field: SessionField,
        hint: &str,
        width: f32,
    ) -> egui::Response {
        let text = self
            .text
            .get_or_insert_with(|| field.get(&settings.session()).to_string());
        let response = ui.add(
            egui::TextEdit::singleline(text)
                .hint_text(hint)
                .desired_width(width),
        );
        if response.lost_focus() {
            let mut session = settings.session();
            if field.get(&session) != text.as_str() {
                field.set(&mut session, text.clone());
                settings.set_session(session);
            }
        }
        response
    }
}

"""Agent and conversation forms. The rules live in services; forms only collect and show field errors."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from ..models.choices import INPUT_TOOLS, OUTPUT_MODES, STYLE_COLORS, STYLE_ICONS
from .services import NAME_MAX, PERSONALITY_MAX, PRIVACY_EXPLANATIONS, AgentFields

TOOL_LABELS = {
    "general": "General knowledge", "online": "Search online", "notes": "Search my notes",
    "webpage": "Read web pages", "code": "Run code",
}
MODE_LABELS = {"image": "Generate images", "diagram": "Draw diagrams"}


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes instead of a multi-select; unknown submitted values are a field error."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AgentForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired("Give the agent a name."), Length(max=NAME_MAX)])
    personality = TextAreaField(
        "Personality", validators=[Optional(), Length(max=PERSONALITY_MAX)],
        description="How the agent behaves and what it knows about, in your own words.",
        render_kw={"rows": 6},
    )
    chat_model = SelectField("Chat model", choices=[], validate_choice=False)
    input_tools = MultiCheckboxField(
        "Tools", choices=[SelectChoice(v, TOOL_LABELS[v]) for v in INPUT_TOOLS],
        description="Leave all unchecked to allow every tool.",
    )
    output_modes = MultiCheckboxField(
        "Output modes", choices=[SelectChoice(v, MODE_LABELS[v]) for v in OUTPUT_MODES],
        description="Leave all unchecked to allow every output mode.",
    )
    style_color = RadioField("Colour", choices=[SelectChoice(v, v.capitalize()) for v in STYLE_COLORS], default="orange")
    style_icon = RadioField("Icon", choices=[SelectChoice(v, v) for v in STYLE_ICONS], default="Lightbulb")
    privacy_level = RadioField(
        "Who can use it", choices=[SelectChoice(v, v.capitalize()) for v in ("private", "protected", "public")],
        default="private",
    )
    version = HiddenField()

    privacy_explanations = PRIVACY_EXPLANATIONS

    def set_chat_models(self, choices, current_id: int | None = None) -> None:
        """`choices` from services.chat_model_choices: models the owner may not use are shown, disabled —
        except the agent's current model, so saving other fields keeps it (browsers drop disabled options)."""
        self.chat_model_options = [("", "Server default", True)] + [
            (str(model.id), model.friendly_name or model.name, allowed or model.id == current_id)
            for model, allowed in choices
        ]
        self.chat_model.choices = [SelectChoice(value, label) for value, label, _ in self.chat_model_options]

    def to_fields(self) -> AgentFields:
        raw_model = (self.chat_model.data or "").strip()
        return AgentFields(
            name=self.name.data or "", personality=self.personality.data,
            chat_model_id=int(raw_model) if raw_model.isdigit() else None,
            input_tools=list(self.input_tools.data or []), output_modes=list(self.output_modes.data or []),
            style_color=self.style_color.data, style_icon=self.style_icon.data,
            privacy_level=self.privacy_level.data,
        )

    def validate_chat_model(self, field) -> None:
        raw = (field.data or "").strip()
        if raw and not raw.isdigit():
            raise ValidationError("Choose a chat model from the list.")

    def show_errors(self, errors: dict[str, list[str]]) -> None:
        """Put service errors next to their fields ("" = the whole form)."""
        for name, messages in errors.items():
            target = {"chat_model_id": "chat_model"}.get(name, name)
            if target and target in self._fields:
                self._fields[target].errors = list(self._fields[target].errors) + messages
            else:
                self.form_errors.extend(messages)


class ConfirmForm(FlaskForm):
    """A CSRF-protected confirmation (delete …); `version` guards against deleting a changed agent."""

    version = HiddenField()


class RenameForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired("Give the conversation a title."), Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField("Export file (JSON)", validators=[FileRequired("Choose a JSON export file.")])

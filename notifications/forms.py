from django import forms

from notifications.kinds import ALWAYS_SENT, EXPLANATIONS, Kind


class ChoicesForm(forms.Form):
    """A checkbox per kind of e-mail; those always sent are shown checked and disabled (a
    disabled field ignores what is posted for it)."""

    def __init__(self, *args, turned_off: set[str], **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for kind in Kind:
            always = kind in ALWAYS_SENT
            help_text = EXPLANATIONS[kind] + (f" {ALWAYS_SENT[kind]}" if always else "")
            self.fields[kind.value] = forms.BooleanField(
                label=kind.label,
                required=False,
                initial=always or kind not in turned_off,
                disabled=always,
                help_text=help_text,
            )

    def wanted(self) -> set[str]:
        return {kind for kind, on in self.cleaned_data.items() if on}

"""What the terminal (`rasa shell`) shows: buttons by their label once, text wrapped to the terminal's width
(bot/plugins/console.py, installed by bot.plugins.patches)."""
from __future__ import annotations

from bot.plugins import console
from bot.plugins.patches import PATCHES


def test_the_shell_patches_are_listed_with_their_reason():
    listed = {(p.module, p.attribute): p.why for p in PATCHES}
    assert "fit (fit)" in listed[("rasa.core.channels.console", "print_buttons")]
    assert "wrap" in listed[("rasa.core.channels.console", "_print_bot_output")]


def test_a_button_reads_as_its_label_once_and_still_answers_with_its_payload():
    from rasa.cli.utils import FREE_TEXT_INPUT_PROMPT

    message = {"text": "Is the patient fit?", "buttons": [{"title": "fit", "payload": "fit"},
                                                          {"title": "intermediate", "payload": "intermediate fitness"}]}
    choices = console.button_choices(message["buttons"])  # what the shell's question offers
    assert [c.title for c in choices] == ["1: fit", "2: intermediate", FREE_TEXT_INPUT_PROMPT]
    for choice, button in zip(choices[:2], message["buttons"], strict=True):  # as payload_from_button_question
        value = choice.value
        assert value[value.rfind("(") + 1: value.rfind(")")] == button["payload"]


def test_the_shell_wraps_text_to_the_terminal(monkeypatch):
    import os
    import shutil

    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(100, 24): os.terminal_size((60, 24)))
    seen = []
    console.print_bot_output(lambda m, *a, **k: seen.append(m))({"text": "word " * 50})
    assert max(len(line) for line in seen[0]["text"].splitlines()) <= 60

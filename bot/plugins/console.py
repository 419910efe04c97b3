"""The replacements `bot.plugins.patches` installs in Rasa's terminal channel (`rasa shell`, ./scripts/start).

- `print_buttons`: a button reads as its label once ("1: fit"), not "1: fit (fit)"; the choice still carries the
  payload where Rasa's `payload_from_button_question` looks for it, so answering works as before.
- `print_bot_output`: every text wrapped to the terminal's width (bot.clinical.render.wrap_for_terminal).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List

from bot.clinical.render import wrap_for_terminal


def button_choices(buttons: List[Dict[str, Any]]) -> List[Any]:
    """questionary choices titled "1: fit"; each value keeps the payload in parentheses, where Rasa reads it."""
    import questionary
    from rasa.cli.utils import FREE_TEXT_INPUT_PROMPT

    choices = [questionary.Choice(title=f"{i}: {b.get('title', '')}", value=f"{i}: ({b.get('payload', '')})")
               for i, b in enumerate(buttons, 1)]
    return choices + [questionary.Choice(title=FREE_TEXT_INPUT_PROMPT, value=FREE_TEXT_INPUT_PROMPT)]


def print_buttons(original: Callable) -> Callable:
    """Rasa's shell shows each button as "title (payload)", which reads "fit (fit)": show the label once."""

    def replacement(message: Dict[str, Any], is_latest_message: bool = False, color: str = "") -> Any:
        import questionary
        from rasa.shared.utils.cli import print_color

        buttons = message.get("buttons") or []
        if is_latest_message:
            return questionary.select(message.get("text"), button_choices(buttons))
        for i, b in enumerate(buttons, 1):
            print_color(f"{i}: {b.get('title', '')}", color=color)
        return None

    return replacement


def print_bot_output(original: Callable) -> Callable:
    """Rasa's shell prints long lines as they are, which the terminal cuts mid-word: wrap them to its width."""

    def replacement(message: Dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if isinstance(message.get("text"), str):
            message = dict(message, text=wrap_for_terminal(message["text"]))
        return original(message, *args, **kwargs)

    return replacement

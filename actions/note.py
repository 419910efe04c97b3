"""`action_note`: the copy-to-note summary of the case's recommendation ("note" in the chat).

A plain-text summary sized for a clinical note (bot.clinical.render.render_note): the case as read, the options by
tier with their key trials and approval in the case's region, the knowledge edition and the disclaimer; no
identifiers. While the case is incomplete it asks the intake question for what is missing (or the open conflict), as
`action_recommend` does; inside the intake, where the form asks next, it says what is still needed instead. It
records nothing in the audit trail: the recommendation it summarises was recorded when it was given. Kept in its
own module so the recommendation actions (actions.py) stay as they are.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.clinical.note import render_note

from .actions import privacy_notice, ready_advice


class ActionNote(Action):
    def name(self) -> Text:
        return "action_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        notice = privacy_notice(dispatcher, tracker)
        # inside the intake the form asks its own question next: say why there is no note instead of asking
        missing = (lambda still: "I'll write the note once I have the case. Still needed: "
                   + ", ".join(s.replace("_", " ") for s in still) + ".") if tracker.active_loop.get("name") else None
        given = await ready_advice(dispatcher, tracker, "write the note", missing)
        if given is None:
            return notice
        dispatcher.utter_message(text=render_note(given.recommendation))
        return notice

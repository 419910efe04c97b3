"""`action_show_more`: one layer of the last recommendation, one step away from its short answer.

"details", "all options", "transplant", "trials" (typed in the shell, or a button's `/show_more{"section": ...}`
elsewhere); "cautions" and "why not <regimen>" have their own actions. The text comes from
bot.clinical.short.render_section; which layer a message asks for, from bot.clinical.short.section_of.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.clinical.short import render_section, section_of

from .actions import _entity_value, _recommendation, privacy_notice


class ActionShowMore(Action):
    def name(self) -> Text:
        return "action_show_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        notice = privacy_notice(dispatcher, tracker)
        section = section_of(str(_entity_value(tracker, "section") or tracker.latest_message.get("text") or ""))
        rec = _recommendation(tracker)
        if rec is None:
            dispatcher.utter_message(response="utter_no_recommendation_yet")
            return notice
        dispatcher.utter_message(text=render_section(rec, section))
        return notice

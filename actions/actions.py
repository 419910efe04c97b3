"""Thin rasa_sdk adapters: every decision is made in bot/ (intake, engine, render, privacy).

Fixed texts are responses of domain.yml (the intake questions are its `utter_ask_<slot>`, asked by the form);
the actions send only what depends on the case or the knowledge base.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import intake
from bot.advice import Advice, CaseError, advise, advise_async, deployment_region
from bot.audit import NOT_RECORDED_TEXT, turn_channel
from bot.clinical.changes import what_changed
from bot.clinical.kb import UnknownName, kb
from bot.clinical.lookup import drug_regimens_text
from bot.clinical.render import (
    drug_cautions_text,
    render_cautions,
    render_drug,
    render_regimen,
    render_regimen_cautions,
    render_trial,
    why_not,
)
from bot.clinical.short import render_short, render_trials
from bot.plugins import tokens
from bot.privacy import contains_identifier

logger = logging.getLogger(__name__)

# The payload is for channels that render it their own way; the terminal (rasa shell) would print it
# as raw JSON under the text, so it gets the text alone.
TEXT_ONLY_CHANNELS = {"cmdline"}
CASE_INTENTS = set(intake.CASE_INTENTS)

def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _entities(tracker: Tracker) -> List[Dict[str, Any]]:
    return tracker.latest_message.get("entities") or []


def _entity_value(tracker: Tracker, name: str) -> Optional[Any]:
    for e in _entities(tracker):
        if e.get("entity") == name and not e.get("role"):
            return e.get("value")
    for e in _entities(tracker):
        if e.get("entity") == name:
            return e.get("value")
    return None


def _message_id(tracker: Tracker) -> str:
    msg_id = tracker.latest_message.get("message_id")
    if msg_id:
        return str(msg_id)
    users = [e for e in tracker.events if e.get("event") == "user"]
    return f"{len(users)}:{users[-1].get('timestamp') if users else ''}"


def privacy_notice(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Asks once per message not to share identifiers, when the message holds any (never repeating them).

    Called first by every action that answers; the slot keeps a second action of the same turn quiet.
    """
    msg_id = _message_id(tracker)
    if tracker.get_slot("privacy_noticed") == msg_id or not contains_identifier(
        tracker.latest_message.get("text") or ""
    ):
        return []
    dispatcher.utter_message(response="utter_privacy_notice")
    return [SlotSet("privacy_noticed", msg_id)]


def case_slots(tracker: Tracker) -> Dict[str, Any]:
    """The slots, with the `region` slot's deployment default (bot.advice: RRMM_REGION, else US) filled in when the
    clinician has not set it.

    The slot itself stays empty until the clinician names a region, so the default is never written into the
    conversation: a "new case" or a changed RRMM_REGION takes effect at once.
    """
    slots = dict(tracker.current_slot_values())  # a copy: the tracker's own dict stays as the clinician left it
    if not slots.get("region"):
        slots["region"] = deployment_region()
    return slots


def _recommendation(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The recommendation of the case so far for a look-up ("why not KRd?", "cautions"), when complete; not audited:
    it is not a recommendation given."""
    slots = tracker.current_slot_values()
    if intake.missing(slots) or slots.get("case_conflict"):
        return None
    try:
        return advise(intake.case_dict(slots), channel=tracker.get_latest_input_channel(),
                      audit=False).recommendation
    except CaseError:
        return None


def _read(tracker: Tracker, dispatcher: CollectingDispatcher) -> Tuple[List[EventType], Optional[intake.Reading]]:
    """Slot events for every case detail the latest message holds (each message is read once), and the reading.

    Runs at the start of the form's validation (every case message goes into the form: data/rules/intake.yml),
    and in `action_extract_case` (Rasa's custom slot mapping, kept for a bare yes or no outside the form); a
    message already read is not read again. What a message means is decided
    by `bot.intake.read_message`, which the evaluation of conversations calls too.
    """
    msg_id = _message_id(tracker)
    if tracker.get_slot("extracted_message") == msg_id:
        return [], None
    events: List[EventType] = [SlotSet("extracted_message", msg_id)]
    slots = tracker.current_slot_values()
    requested = slots.get("requested_slot") if tracker.active_loop_name == "case_form" else None
    reading = intake.read_message(slots, _entities(tracker), _intent(tracker),
                                  tracker.latest_message.get("text") or "", requested)
    for problem in reading.problems:
        dispatcher.utter_message(text=f"I couldn't use that: {problem}.")
    if reading.digression:
        dispatcher.utter_message(response="utter_out_of_scope")
    events += [SlotSet(k, v) for k, v in reading.updates.items() if slots.get(k) != v]
    return events, reading


class ActionExtractCase(Action):
    """Rasa's custom slot mapping for the case slots after a bare yes or no outside the intake (domain.yml). Every
    other case message goes straight into the form, whose validation reads it (`_read`): mapping those too cost a
    round trip to this server per one-shot case and read nothing new."""

    def name(self) -> Text:
        return "action_extract_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return _read(tracker, dispatcher)[0]


def _digest(case: Dict[str, Any]) -> str:
    """A short fingerprint of the case (the slot `recommended_case`: was it recommended as it is now?)."""
    return hashlib.sha256(json.dumps(case, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _answered_since_user(tracker: Tracker) -> bool:
    """Whether an action other than the form answered the latest message (a digression, a new case)."""
    for e in reversed(tracker.events):
        if e.get("event") == "user":
            return False
        if e.get("event") == "action" and e.get("name") not in (None, "action_listen", "action_extract_slots",
                                                                 "case_form", "validate_case_form"):
            return True
    return False


class ValidateCaseForm(FormValidationAction):
    """Asks for the required fields one at a time; a conflict is asked about first."""

    def name(self) -> Text:
        return "validate_case_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Text]:
        slots = tracker.current_slot_values()
        return (["conflict_answer"] if slots.get("case_conflict") else []) + intake.missing(slots)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        requested = tracker.get_slot("requested_slot") if tracker.active_loop_name == "case_form" else None
        if not _answered_since_user(tracker) and not intake.reads_case(_intent(tracker), requested):
            # an aside inside the intake ("what is KPd?", "help", "summary"): no slot set, so the form rejects and
            # the rules answer it, then come back to the form (Rasa predicts an active form before any rule)
            return []
        read, reading = _read(tracker, dispatcher)
        events = privacy_notice(dispatcher, tracker) + read
        tracker.add_slots(events)  # the form decides the next question from the updated case
        # how the next question is asked (domain.yml: the variants of utter_ask_<slot> by intake_prompt)
        prompt, reasked = intake.next_prompt(tracker.current_slot_values(), bool(reading and reading.unreadable))
        changed = [SlotSet(k, v) for k, v in (("intake_prompt", prompt), ("reasked", reasked))
                   if tracker.get_slot(k) != v]
        events += changed  # only what changed: every event is carried by the tracker from then on
        tracker.add_slots(changed)
        events += await super().run(dispatcher, tracker, domain)
        if _intent(tracker) in CASE_INTENTS:
            # An answer the intake could not place still keeps the form going: it asks again.
            events.append(SlotSet("intake_turns", (tracker.get_slot("intake_turns") or 0) + 1))
        return events


class ActionAskConflictAnswer(Action):
    def name(self) -> Text:
        return "action_ask_conflict_answer"

    async def run(self, dispatcher, tracker, domain):
        conflict = tracker.get_slot("case_conflict")
        if conflict and "confirm" in conflict:
            # a reading on weak evidence: asked with the reading as a button ("Age 74"), never guessed
            dispatcher.utter_message(text=intake.conflict_question(conflict), buttons=[
                {"title": intake.conflict_button(conflict), "payload": "yes"}, {"title": "No", "payload": "no"}])
        elif conflict:
            dispatcher.utter_message(text=intake.conflict_question(conflict))
        return []


async def ready_advice(dispatcher: CollectingDispatcher, tracker: Tracker, what: str,
                       missing: Optional[Callable[[List[str]], str]] = None, audit: bool = False) -> Optional[Advice]:
    """The recommendation of a complete case (bot.advice; written to the audit trail when `audit`, i.e. when it is
    given). Otherwise says what stands in the way and returns None: the open conflict's question, the first missing
    field's question (or `missing(fields)`, said instead), or the case's problems ("I can't <what> yet: ...")."""
    slots = tracker.current_slot_values()
    if slots.get("case_conflict"):
        dispatcher.utter_message(text=intake.conflict_question(slots["case_conflict"]))
        return None
    still = intake.missing(slots)
    if still:
        if missing:
            dispatcher.utter_message(text=missing(still))
        else:
            dispatcher.utter_message(response=f"utter_ask_{still[0]}")
        return None
    try:
        return await advise_async(intake.case_dict(slots), channel=tracker.get_latest_input_channel(),
                                  conversation=tracker.sender_id, audit=audit)
    except CaseError as exc:
        dispatcher.utter_message(text=f"I can't {what} yet: " + "; ".join(exc.problems))
        return None


def recommended_slots(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The slots as they were when the last recommendation was given (replayed from the tracker's events up to the
    `recommended_case` fingerprint it set), or None when there was none since the case was last cleared."""
    slots: Dict[str, Any] = {}
    snapshot = None
    for e in tracker.events:
        kind = e.get("event")
        if kind in ("reset_slots", "restart", "session_started"):
            slots, snapshot = {}, None
        elif kind == "slot":
            slots[e.get("name")] = e.get("value")
            if e.get("name") == "recommended_case" and e.get("value"):
                snapshot = dict(slots)
    return snapshot


def _changes(tracker: Tracker, rec: Dict[str, Any], case: str) -> Optional[str]:
    """What a correction changed ("Changed: now frail (was fit). No longer an option: ..."), or None."""
    before = recommended_slots(tracker)
    if not before or before.get("recommended_case") in (None, case):
        return None
    before = dict(before, region=before.get("region") or deployment_region())
    if intake.missing(before) or before.get("case_conflict"):
        return None
    try:  # the recommendation given before, again (not audited: it is not a recommendation given now)
        return what_changed(advise(intake.case_dict(before), channel=tracker.get_latest_input_channel(),
                                   audit=False).recommendation, rec)
    except CaseError:
        return None


class ActionRecommend(Action):
    def name(self) -> Text:
        return "action_recommend"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        slots = case_slots(tracker)
        case = _digest(intake.case_dict(slots))
        if slots.get("recommended_case") == case and contains_identifier(tracker.latest_message.get("text") or ""):
            return notice  # identifiers and nothing new for the case: the privacy warning (this turn's) alone
        if _intent(tracker) in ("affirm", "deny") and slots.get("recommended_case") == case:
            dispatcher.utter_message(response="utter_case_unchanged")  # "ok" after an answer: no repeat
            return notice
        # the audit trail: only for a turn the Rasa server stamped as a message from one of its channels for this
        # conversation (bot.audit.provenance); injected events followed by `execute action_recommend` write no row
        stamped = turn_channel(tokens.turn_key(), tracker.sender_id, tracker.events)
        if stamped is None:
            logger.warning("audit: no row for a recommendation in conversation %s: its latest message did not come "
                           "through one of the assistant's channels (injected events)", tracker.sender_id)
        given = await ready_advice(dispatcher, tracker, "give a recommendation", audit=stamped is not None)
        if given is None:
            return notice
        rec = given.recommendation
        changed = _changes(tracker, rec, case)
        if changed:  # a correction: what changed first, then the short answer
            dispatcher.utter_message(text=changed)
        dispatcher.utter_message(text=render_short(rec))
        if tracker.get_latest_input_channel() not in TEXT_ONLY_CHANNELS:
            dispatcher.utter_message(json_message={"type": "rrmm_recommendation", "recommendation": rec})
        if stamped and not given.recorded:  # the audit write failed (logged by bot.advice): the clinician is told
            dispatcher.utter_message(text=NOT_RECORDED_TEXT)
        return notice + [SlotSet("recommended_case", case)]


class ActionWhyNot(Action):
    def name(self) -> Text:
        return "action_why_not"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        code = _entity_value(tracker, "regimen")
        drug = _entity_value(tracker, "drug")
        if code is None and not drug:
            dispatcher.utter_message(response="utter_which_regimen_why_not")
            return notice
        rec = _recommendation(tracker)
        if rec is None:
            still = ", ".join(s.replace("_", " ") for s in intake.missing(tracker.current_slot_values()))
            dispatcher.utter_message(
                text=f"I need the case first (still needed: {still or 'a settled conflict'}). "
                f"What the knowledge base holds on {code or drug}:\n"
                + (render_regimen(code) if code else render_drug(drug))
            )
            return notice
        if code is None:  # a drug: every regimen that contains it ("why not teclistamab?": teclistamab, Tec-D)
            lines = [why_not(rec, r) for r in kb().regimens if drug in kb().regimens[r].components]
            dispatcher.utter_message(text="\n".join(lines[:8]))
            return notice
        dispatcher.utter_message(text=why_not(rec, code))
        return notice


class ActionRegimenInfo(Action):
    def name(self) -> Text:
        return "action_regimen_info"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        code = _entity_value(tracker, "regimen")
        drug = _entity_value(tracker, "drug")
        if not code and not drug:
            dispatcher.utter_message(response="utter_which_regimen")
            return notice
        try:  # "what is talquetamab?": a drug (shown as its own regimen when it is one)
            dispatcher.utter_message(text=render_regimen(code) if code else render_drug(drug))
        except UnknownName as exc:
            dispatcher.utter_message(text=f"I don't know that regimen ({exc}).")
        return notice


class ActionDrugRegimens(Action):
    """"Which regimens contain carfilzomib?": the regimens, and where each stands for the conversation's case."""

    def name(self) -> Text:
        return "action_drug_regimens"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        drug = _entity_value(tracker, "drug")
        if not drug:
            dispatcher.utter_message(response="utter_which_drug")
            return notice
        try:
            dispatcher.utter_message(text=drug_regimens_text(drug, _recommendation(tracker)))
        except UnknownName as exc:
            dispatcher.utter_message(text=f"I don't know that drug ({exc}).")
        return notice


class ActionTrialInfo(Action):
    def name(self) -> Text:
        return "action_trial_info"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        tid = _entity_value(tracker, "trial")
        rec = None if tid else _recommendation(tracker)
        if rec is not None:  # "trials" after a recommendation: the trials behind its options
            dispatcher.utter_message(text=render_trials(rec))
            return notice
        try:
            dispatcher.utter_message(
                text=render_trial(tid) if tid else "Which trial? I know: " + ", ".join(kb().trials) + "."
            )
        except UnknownName as exc:
            dispatcher.utter_message(text=f"I don't know that trial ({exc}).")
        return notice


class ActionRegimenCautions(Action):
    def name(self) -> Text:
        return "action_regimen_cautions"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        code = _entity_value(tracker, "regimen")
        drug = _entity_value(tracker, "drug")
        if code:
            dispatcher.utter_message(text=render_regimen_cautions(code))
        elif drug:
            dispatcher.utter_message(text=drug_cautions_text(drug))
        else:  # "cautions": every caution of the case, the `info` ones folded in the recommendation too
            rec = _recommendation(tracker)
            if rec is not None:
                dispatcher.utter_message(text=render_cautions(rec))
            else:
                dispatcher.utter_message(response="utter_which_cautions")
        return notice


class ActionCaseSummary(Action):
    def name(self) -> Text:
        return "action_case_summary"

    async def run(self, dispatcher, tracker, domain):
        notice = privacy_notice(dispatcher, tracker)
        slots = tracker.current_slot_values()
        # the region is part of the case once there is one (with this deployment's default when not said)
        text = intake.summary(case_slots(tracker) if intake.case_dict(slots) else slots)
        if intake.case_dict(slots) and not slots.get("region"):
            region = deployment_region()
            text = text.replace(f"- region: {region}", f"- region: {region} (this deployment's default: whose labels "
                                                       "apply)")
        dispatcher.utter_message(text=text)
        return notice


class ActionNewCase(Action):
    """Clears the case (saying so when there was one); the same message may already describe the next patient
    ("next patient: 62F, 2 prior lines, ..."). The form then asks the first question (rules: new case)."""

    def name(self) -> Text:
        return "action_new_case"

    async def run(self, dispatcher, tracker, domain):
        slots = tracker.current_slot_values()
        if intake.case_dict(slots) or slots.get("refractory") == [] or slots.get("never_received"):
            dispatcher.utter_message(response="utter_new_case")
        text = tracker.latest_message.get("text") or ""
        events: List[EventType] = [ActiveLoop(None), AllSlotsReset(),
                                   SlotSet("extracted_message", _message_id(tracker))]
        events += [SlotSet(k, v) for k, v in intake.new_case_slots(_entities(tracker), text).items()]
        return events

"""Identifiers never reach the action server's logs: rasa_sdk imports every module of this package at
start, and this one redacts all log output of the process from then on (bot/log_redaction.py)."""
from bot.log_redaction import install_everywhere

install_everywhere()

"""Thin rasa_sdk adapters over bot/: every decision is made in bot/ (intake, engine, render, privacy).

Run the action server with `python -m actions --port 5055` (actions/__main__.py), which installs log
redaction before rasa_sdk starts; `rasa run actions` would run the same actions without it.
"""

"""Chat channels: Slack, Microsoft Teams (Bot Framework) and the web chat page, configured in credentials.yml.

`render` turns the `rrmm_recommendation` payload into each platform's native form; `slack`, `teams` and
`webchat` are the Rasa connectors (secrets from the environment only; see docs/channels.md).
"""

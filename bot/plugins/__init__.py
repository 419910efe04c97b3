"""Everything that plugs into Rasa or Sanic: the only package of `bot` that imports rasa, rasa_sdk or sanic.

- `stores`: the tracker store (redacting, SQLite or PostgreSQL) and lock store (memory or Redis) named in
  endpoints.yml;
- `components`: the NLU components named in config.yml;
- `channels`: the Slack, Teams and web-chat connectors named in credentials.yml, and their renderers;
- `patches`: every change made to third-party code (Rasa, medspacy, logging), applied by one `install()`;
- `errors`: the error types the stores and patches share.

Layer: the top of `bot`. May import every other package of `bot` (clinical, intake, nlu, privacy, audit),
and rasa, rasa_sdk, sanic. Only `actions/` imports this package.
"""

"""`python -m bot.plugins.channels teams-package`: builds the Microsoft Teams app package (docs/channels.md).

The bot id comes from TEAMS_APP_ID (the Azure Bot's Microsoft App ID); the assistant's public address from
--public-url or RRMM_PUBLIC_URL. Prints where the zip was written. Exit status 2 with a message saying what to
set when a setting is missing or wrong.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from .teams_package import DEFAULT_OUT, MANIFEST_VERSION, PackageError, app_id_from_env, build_package


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.plugins.channels",
                                     description="Tools for the chat channels (docs/channels.md).")
    commands = parser.add_subparsers(dest="command", required=True)
    teams = commands.add_parser(
        "teams-package", help="build the Teams app package (zip) to upload in Teams",
        description="Builds the Teams app package: manifest.json (schema %s) with the bot id from TEAMS_APP_ID, "
                    "icons and suggested commands." % MANIFEST_VERSION)
    teams.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write the zip (default {DEFAULT_OUT})")
    teams.add_argument("--public-url", default=os.environ.get("RRMM_PUBLIC_URL", ""),
                       help="the assistant's public https address, the host of the bot's messaging endpoint "
                            "(default: RRMM_PUBLIC_URL)")
    teams.add_argument("--version", default="1.0.0", help="the package version; raise it for each new upload "
                                                          "(default 1.0.0)")
    teams.add_argument("--name", default="RRMM assistant", help="the app's short name in Teams (30 characters)")
    teams.add_argument("--developer", default="RRMM assistant project",
                       help="the organisation shown as the app's developer (32 characters)")
    teams.add_argument("--privacy-url", help="your privacy statement (https; default: --public-url)")
    teams.add_argument("--terms-url", help="your terms of use (https; default: --public-url)")
    teams.add_argument("--personal-only", action="store_true",
                       help="one-to-one chats only (no team channels or group chats)")
    args = parser.parse_args(argv)
    try:
        app_id = app_id_from_env(dict(os.environ))
        if not args.public_url:
            raise PackageError("give the assistant's public address: --public-url https://rrmm.hospital.example "
                               "(or RRMM_PUBLIC_URL), the host of the bot's messaging endpoint")
        manifest = build_package(args.out, app_id, args.public_url, version=args.version, name=args.name,
                                 developer=args.developer, privacy_url=args.privacy_url, terms_url=args.terms_url,
                                 personal_only=args.personal_only)
    except PackageError as exc:
        print(f"teams-package: {exc}", file=sys.stderr)
        return 2
    print(f"Teams app package written to {args.out.resolve()}")
    print(f"  manifest {manifest['manifestVersion']}, version {manifest['version']}, bot {app_id}, "
          f"scopes {', '.join(manifest['bots'][0]['scopes'])}")
    print("  upload it in Teams: Apps > Manage your apps > Upload an app (or your Teams admin centre: "
          "Teams apps > Manage apps > Upload new app)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

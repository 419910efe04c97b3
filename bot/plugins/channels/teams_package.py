"""The Microsoft Teams app package: the zip a Teams administrator uploads (or a user sideloads) to add the bot.

`build_package(...)` writes `manifest.json` (Teams app manifest schema 1.17), `color.png` (192x192) and
`outline.png` (32x32, white on transparent) into a zip. The bot id, and the app id, is the Azure Bot's
Microsoft App ID from TEAMS_APP_ID (refused with a clear message when missing or not a GUID). The manifest
declares one conversational bot in the personal scope, and in team and group chats (where Teams sends the bot
only messages that mention it; the connector strips the mention), with suggested commands for each scope;
`personal_only` keeps it to one-to-one chats. The icons are drawn here (a plasma cell: a ring with an eccentric
nucleus) by a small PNG writer, so the repository holds no binary file.

Run by `python -m bot.plugins.channels teams-package` (or `scripts/teams-package`); docs/channels.md, "Teams".
Pure standard library: no Rasa import, no network.
"""
from __future__ import annotations

import io
import json
import math
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
GUID = re.compile(r"\A[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
SEMVER = re.compile(r"\A\d+\.\d+\.\d+\Z")
ACCENT = (0x1D, 0x4E, 0x89)  # the color icon's background, and the manifest's accentColor
COLOR_SIZE, OUTLINE_SIZE = 192, 32
DEFAULT_OUT = Path("var") / "teams" / "rrmm-teams-app.zip"
SCOPES = ("personal", "team", "groupChat")

# Suggested commands (Teams shows them above the compose box; a title is inserted as the message). Teams allows
# 10 per list, titles of 32 characters and descriptions of 128.
PERSONAL_COMMANDS = [
    ("help", "What I do, with an example case"),
    ("new case", "Forget the current case and describe another patient"),
    ("summary", "The case as I understood it, and its recommendation"),
    ("why not KRd?", "Why a regimen is not among the options"),
    ("cautions with teclistamab", "The cautions of a drug or regimen"),
    ("2 prior lines, len-refractory", "Example case: I ask for whatever is missing (fitness, transplant, relapse)"),
]
GROUP_COMMANDS = [  # in a team or group chat the message must mention the bot; Teams adds the mention
    ("help", "What I do, with an example case"),
    ("new case", "Forget the current case and describe another patient"),
    ("summary", "The case as I understood it, and its recommendation"),
]
DESCRIPTION_SHORT = "Treatment options for relapsed or refractory multiple myeloma"
DESCRIPTION_FULL = (
    "Clinical decision support for relapsed or refractory multiple myeloma (RRMM). Describe a patient in one "
    "message (prior lines, refractory drugs, fitness, transplant eligibility, type of relapse) and the assistant "
    "answers with ranked treatment options and the reasons for each, why other regimens are excluded, cautions "
    "and the trials behind each option. Then ask \"why not KRd?\", \"summary\" or \"new case\". Decision support "
    "for clinicians, not a substitute for clinical judgement: verify doses, labels and local availability. "
    "Please do not type patient identifiers."
)


class PackageError(ValueError):
    """A setting the package cannot be built with; the message says what to do."""


def app_id_from_env(environ: Dict[str, str]) -> str:
    value = (environ.get("TEAMS_APP_ID") or "").strip()
    if not value:
        raise PackageError("TEAMS_APP_ID is not set: set it to the Microsoft App ID of your Azure Bot (Azure "
                           "portal, the bot's Configuration page): export TEAMS_APP_ID=<the App ID>")
    if not GUID.match(value):
        raise PackageError("TEAMS_APP_ID is not a GUID (like 00000000-0000-0000-0000-000000000000): use the Azure "
                           "Bot's Microsoft App ID, not its name or its client secret")
    return value.lower()


def _https_url(value: str, what: str) -> str:
    parts = urlsplit(value or "")
    if parts.scheme != "https" or not parts.hostname:
        raise PackageError(f"{what} must be an https:// address (got {value!r})")
    return value


def manifest(app_id: str, public_url: str, *, version: str = "1.0.0", name: str = "RRMM assistant",
             developer: str = "RRMM assistant project", privacy_url: Optional[str] = None,
             terms_url: Optional[str] = None, personal_only: bool = False) -> Dict[str, Any]:
    """The Teams app manifest (schema 1.17) for the bot `app_id` served at `public_url`."""
    if not GUID.match(app_id or ""):
        raise PackageError("the bot id must be a GUID (TEAMS_APP_ID)")
    if not SEMVER.match(version):
        raise PackageError(f"--version must look like 1.0.0 (got {version!r}); raise it for each new upload")
    site = _https_url(public_url, "--public-url (the assistant's public address, as in the bot's messaging endpoint)")
    scopes: List[str] = ["personal"] if personal_only else list(SCOPES)
    command_lists: List[Dict[str, Any]] = [
        {"scopes": ["personal"], "commands": [{"title": t, "description": d} for t, d in PERSONAL_COMMANDS]}]
    if not personal_only:
        command_lists.append({"scopes": ["team", "groupChat"],
                              "commands": [{"title": t, "description": d} for t, d in GROUP_COMMANDS]})
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": developer[:32],
            "websiteUrl": site,
            "privacyUrl": _https_url(privacy_url or site, "--privacy-url"),
            "termsOfUseUrl": _https_url(terms_url or site, "--terms-url"),
        },
        "name": {"short": name[:30], "full": "RRMM decision support (relapsed or refractory multiple myeloma)"},
        "description": {"short": DESCRIPTION_SHORT, "full": DESCRIPTION_FULL},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#%02X%02X%02X" % ACCENT,
        "bots": [{
            "botId": app_id,
            "scopes": scopes,
            "isNotificationOnly": False,
            "supportsFiles": False,
            "supportsCalling": False,
            "supportsVideo": False,
            "commandLists": command_lists,
        }],
        "validDomains": [urlsplit(site).hostname],
    }


# ---- icons: a tiny PNG writer ---------------------------------------------------------------------------
def png(width: int, height: int, pixels: Sequence[Tuple[int, int, int, int]]) -> bytes:
    """An 8-bit RGBA PNG of `pixels` (row by row)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        for r, g, b, a in pixels[y * width:(y + 1) * width]:
            raw += bytes((r, g, b, a))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def _cell_coverage(size: int, samples: int = 3) -> List[float]:
    """How much of each pixel the plasma-cell glyph covers (0..1): a ring with an eccentric nucleus."""
    c = size / 2
    ring_out, ring_in = 0.40 * size, 0.31 * size
    nx, ny, nr = c + 0.09 * size, c + 0.06 * size, 0.15 * size
    out = []
    step = 1.0 / samples
    for y in range(size):
        for x in range(size):
            hits = 0
            for sy in range(samples):
                for sx in range(samples):
                    px, py = x + (sx + 0.5) * step, y + (sy + 0.5) * step
                    d = math.hypot(px - c, py - c)
                    if ring_in <= d <= ring_out or math.hypot(px - nx, py - ny) <= nr:
                        hits += 1
            out.append(hits / (samples * samples))
    return out


def color_icon() -> bytes:
    """192x192: the glyph in white on the accent color (Teams rounds the corners itself)."""
    r0, g0, b0 = ACCENT
    pixels = [(round(r0 + (255 - r0) * k), round(g0 + (255 - g0) * k), round(b0 + (255 - b0) * k), 255)
              for k in _cell_coverage(COLOR_SIZE)]
    return png(COLOR_SIZE, COLOR_SIZE, pixels)


def outline_icon() -> bytes:
    """32x32: the glyph in white on a transparent background, as Teams requires."""
    return png(OUTLINE_SIZE, OUTLINE_SIZE, [(255, 255, 255, round(255 * k)) for k in _cell_coverage(OUTLINE_SIZE, 4)])


# ---- the zip ----------------------------------------------------------------------------------------------
def package_bytes(app_manifest: Dict[str, Any]) -> bytes:
    """The zip: manifest.json and the two icons at its root (fixed timestamps: the same input, the same bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (("manifest.json", json.dumps(app_manifest, indent=2).encode() + b"\n"),
                           ("color.png", color_icon()), ("outline.png", outline_icon())):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buffer.getvalue()


def build_package(out: Path, app_id: str, public_url: str, **options: Any) -> Dict[str, Any]:
    """Writes the package to `out` (folders created) and returns its manifest."""
    app_manifest = manifest(app_id, public_url, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(package_bytes(app_manifest))
    return app_manifest

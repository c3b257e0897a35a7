#!/usr/bin/env python3
"""Copies the console's screens from a browser run into docs/screenshots/console/, under stable
names: every tab at a desktop width and at 360 px, as the README's gallery shows them.

    python3 scripts/docs_screenshots.py [SCREENSHOT_DIR]   # default target/e2e/screenshots

The browser flow numbers its screenshots (`console-<n>-<name>.png`); the numbers move when a step
is added, the names do not. A screen missing from the run is an error: the gallery would show an
old picture beside new ones."""

import glob
import os
import re
import shutil
import sys

# The gallery's name → the browser flow's screen (tests/integration/browser/console_flow.py).
SCREENS = {
    "desktop-accounts": "account-card",
    "desktop-rules": "rules-saved",
    "desktop-followers": "followers",
    "desktop-send": "send-outside-window",
    "desktop-media": "media-uploaded",
    "desktop-menu": "menu-published",
    "desktop-tags": "keyboard",
    "desktop-qrcodes": "qrcode",
    "desktop-articles": "mass-sent",
    "desktop-quota": "quota",
    "desktop-web": "web-origins",
    "phone-accounts": "phone",
    **{f"phone-{tab}": f"phone-{tab}" for tab in
       ["rules", "followers", "send", "media", "menu", "tags", "qrcodes", "articles", "quota", "web"]},
}


def main() -> int:
    source = sys.argv[1] if len(sys.argv) > 1 else "target/e2e/screenshots"
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "screenshots", "console")
    os.makedirs(target, exist_ok=True)
    missing = []
    for name, screen in SCREENS.items():
        found = [path for path in glob.glob(os.path.join(source, "console-*.png"))
                 if re.fullmatch(rf"console-[0-9]+-{re.escape(screen)}\.png", os.path.basename(path))]
        if len(found) != 1:
            missing.append(f"{screen} ({len(found)} found)")
            continue
        shutil.copyfile(found[0], os.path.join(target, f"{name}.png"))
    if missing:
        print("not in the run: " + ", ".join(missing), file=sys.stderr)
        return 1
    print(f"{len(SCREENS)} screens copied to docs/screenshots/console/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

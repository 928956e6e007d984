#!/usr/bin/env python3
"""Renders what `pskeys doctor` and `pskeys verify` show on a terminal to SVG, from real
runs, for the README: docs/doctor.svg and docs/verify.svg.

    cargo build --release && python3 scripts/screenshots.py [--bin target/release/pskeys] [--out docs]

Each run goes through script(1) on a pty 88 columns wide with --color always, so the
pictures show pskeys' own colours and word wrapping. The projects are made in a temporary
folder with fixed kids; the verify run uses --at, so the only thing that changes between
renders is the secret (never shown) and the token's signature (not shown either).
"""

import argparse
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

COLUMNS = 88
# The SGR codes pskeys writes (anstyle): bold, the four colours, reset.
COLOURS = {"31": "#e06c75", "32": "#98c379", "33": "#e5c07b", "36": "#56b6c2"}
FOREGROUND, BACKGROUND = "#d7dae0", "#1e2127"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def clean_env():
    """This environment without anything pskeys reads: a developer's POWERSYNC_CONFIG_PATH
    or PSKEYS_* must not point the demo runs at their real project."""
    drop = ("PS_", "PSKEYS_", "POWERSYNC_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for var in ("NO_COLOR", "CLICOLOR_FORCE", "CLICOLOR", "COLUMNS"):
        env.pop(var, None)
    env["TERM"] = "xterm-256color"
    return env


def pskeys(bin_path, args, cwd):
    """Runs pskeys ARGS (a list) for a demo project's setup; its stdout."""
    out = subprocess.run([bin_path, *args], cwd=cwd, env=clean_env(), check=True, capture_output=True)
    return out.stdout.decode().strip()


def run(bin_path, args, cwd):
    """`pskeys ARGS` (a list) on a pty COLUMNS wide; its output as the terminal got it."""
    line = f"stty cols {COLUMNS} rows 60; " + shlex.join([bin_path, *args])
    out = subprocess.run(["script", "-qec", line, "/dev/null"], cwd=cwd, env=clean_env(),
                         capture_output=True, check=False)
    return out.stdout.decode().replace("\r\n", "\n")


def spans(line):
    """(text, colour, bold) runs of one line of ANSI text."""
    colour, bold, at, out = None, False, 0, []
    for m in SGR.finditer(line):
        if m.start() > at:
            out.append((line[at:m.start()], colour, bold))
        for code in (m.group(1) or "0").split(";"):
            if code in ("0", ""):
                colour, bold = None, False
            elif code == "1":
                bold = True
            elif code in COLOURS:
                colour = COLOURS[code]
        at = m.end()
    if at < len(line):
        out.append((line[at:], colour, bold))
    return out


def svg(title, runs):
    """A terminal window: each (command, output) as a prompt line, then what it printed."""
    lines = []
    for command, text in runs:
        lines.append([(f"$ {command}", "#61afef", True)])
        if text.strip():
            lines.extend(spans(l) for l in text.rstrip("\n").split("\n"))
    char_w, line_h, pad, bar = 8.4, 18, 14, 28
    width = int(COLUMNS * char_w + 2 * pad)
    height = int(bar + pad + len(lines) * line_h + pad)
    body = []
    for i, runs_of_line in enumerate(lines):
        y = bar + pad + (i + 1) * line_h - 5
        parts = []
        for t, c, b in runs_of_line:
            weight = ' font-weight="bold"' if b else ""
            parts.append(f'<tspan fill="{c or FOREGROUND}"{weight}>{html.escape(t)}</tspan>')
        body.append(f'<text x="{pad}" y="{y}" xml:space="preserve">{"".join(parts)}</text>')
    dots = "".join(
        f'<circle cx="{18 + 18 * i}" cy="14" r="6" fill="{c}"/>' for i, c in enumerate(["#e06c75", "#e5c07b", "#98c379"])
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">
<title>{html.escape(title)}</title>
<rect width="100%" height="100%" rx="8" fill="{BACKGROUND}"/>
{dots}
<g font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="14">
{chr(10).join(body)}
</g>
</svg>
"""


def doctor_project(bin_path, root):
    """A project with the traps doctor is for: a secret that is not base64, `.env`
    readable by others, a deprecated setting."""
    d = os.path.join(root, "doctor")
    os.mkdir(d)
    pskeys(bin_path, ["init", "--kid", "powersync-dev-key"], d)
    config = os.path.join(d, "powersync.yaml")
    text = open(config).read().replace("client_auth:\n", "client_auth:\n  block_local_jwks: true\n")
    open(config, "w").write(text)
    env = os.path.join(d, ".env")
    lines = [("PS_CLIENT_AUTH_KEY=not*base64*!" if l.startswith("PS_CLIENT_AUTH_KEY=") else l)
             for l in open(env).read().split("\n")]
    open(env, "w").write("\n".join(lines))
    os.chmod(env, 0o644)
    return d


def verify_project(bin_path, root):
    d = os.path.join(root, "verify")
    os.mkdir(d)
    pskeys(bin_path, ["init", "--alg", "ES256", "--kid", "powersync-es256"], d)
    token = pskeys(bin_path, ["mint", "--sub", "user-1", "--aud", "powersync", "--expires-in", "1h"], d)
    return d, token


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="target/release/pskeys")
    ap.add_argument("--out", default="docs")
    a = ap.parse_args()
    bin_path = os.path.abspath(a.bin)
    if not os.access(bin_path, os.X_OK):
        sys.exit(f"{a.bin} is not built: run `cargo build --release` (or pass --bin)")
    if shutil.which("script") is None:
        sys.exit("script(1) from util-linux is needed")
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        d = doctor_project(bin_path, root)
        out = run(bin_path, ["doctor", "--color", "always"], d)
        open(os.path.join(a.out, "doctor.svg"), "w").write(svg("pskeys doctor", [("pskeys doctor", out)]))
        d, token = verify_project(bin_path, root)
        short = token[:20] + "…"
        ok = run(bin_path, ["verify", "--color", "always", token], d).replace(token, short)
        # The same token once the config has rotated to another key and retired the old
        # one: the service's PSYNC_S2101, and what to do.
        for step in (["init", "--rotate", "--kid", "powersync-es256-2"], ["keys", "retire", "powersync-es256"]):
            pskeys(bin_path, step, d)
        bad = run(bin_path, ["verify", "--color", "always", token], d).replace(token, short)
        shown = [(f"pskeys verify {short}", ok), ("pskeys init --rotate && pskeys keys retire powersync-es256", ""),
                 (f"pskeys verify {short}", bad)]
        open(os.path.join(a.out, "verify.svg"), "w").write(svg("pskeys verify", shown))
    print(f"wrote {a.out}/doctor.svg and {a.out}/verify.svg", file=sys.stderr)


if __name__ == "__main__":
    main()

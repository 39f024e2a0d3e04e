"""Offline stand-ins for wget, curl and gdown: known data addresses come from a local copy.

The run has no network; course notebooks still start with `!wget <course url> -O /tmp/…`.
Unknown addresses fail the way a download tool fails offline, with a message that says
why, so the student's next cell raises the error they would expect.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from grader.runner.contract import CONFIG_ENV, Downloads, RunConfig


def resolve(address: str, downloads: Downloads) -> str | None:
    """Local file for a known URL or Google Drive id; None when unknown."""
    if address in downloads.urls:
        return downloads.urls[address]
    if address in downloads.gdown_ids:
        return downloads.gdown_ids[address]
    parsed = urlparse(address)
    drive_id = parse_qs(parsed.query).get("id", [None])[0]
    if drive_id is None and "/d/" in parsed.path:
        drive_id = parsed.path.split("/d/")[1].split("/")[0]
    return downloads.gdown_ids.get(drive_id) if drive_id else None


def _parse(tool: str, argv: list[str]) -> tuple[list[str], str | None, str | None]:
    """(addresses, output file, output directory) from a wget/curl/gdown command line."""
    addresses: list[str] = []
    output: str | None = None
    directory: str | None = None
    takes_value = {"wget": {"-O", "--output-document", "-P", "--directory-prefix", "-o",
                            "-a", "-t", "-T", "--tries", "--timeout", "-e", "-U"},
                   "curl": {"-o", "--output", "-H", "-A", "-e", "-u", "-x", "-m",
                            "--max-time", "--retry", "-d", "-X"},
                   "gdown": {"-O", "--output", "--id"}}[tool]
    index = 0
    while index < len(argv):
        arg = argv[index]
        value = None
        if "=" in arg and arg.startswith("--"):
            arg, value = arg.split("=", 1)
        elif arg in takes_value:
            index += 1
            value = argv[index] if index < len(argv) else None
        if arg in ("-O", "--output-document", "--output") and tool != "curl" \
                or tool == "curl" and arg in ("-o", "--output"):
            output = value
        elif arg in ("-P", "--directory-prefix"):
            directory = value
        elif arg == "--id":
            addresses.append(value or "")
        elif not arg.startswith("-"):
            addresses.append(arg)
        index += 1
    return addresses, output, directory


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    tool, args = argv[0], argv[1:]
    downloads = RunConfig.load(os.environ[CONFIG_ENV]).downloads
    addresses, output, directory = _parse(tool, args)
    if not addresses:
        print(f"{tool}: missing URL", file=sys.stderr)
        return 1
    status = 0
    for address in addresses:
        local = resolve(address, downloads)
        if local is None:
            print(f"{tool}: cannot download {address}: the grader runs without network and "
                  "this is not a known course data address", file=sys.stderr)
            status = 4 if tool == "wget" else 6
            continue
        name = output or os.path.basename(local)
        if tool == "curl" and output is None and "-O" not in args and "--remote-name" \
                not in args:
            sys.stdout.buffer.write(Path(local).read_bytes())
            continue
        target = Path(directory or ".") / name if output is None else Path(output)
        if str(target) != "-":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            print(f"{tool}: {address} served from the grader's local copy → {target}",
                  file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

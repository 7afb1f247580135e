"""Run the real `congdoan` console script against a database, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONGDOAN = str(Path(sys.executable).parent / "congdoan")
ROOT = Path(__file__).resolve().parents[2]


def congdoan(db_url: str, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=db_url)
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([CONGDOAN, *args], env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)

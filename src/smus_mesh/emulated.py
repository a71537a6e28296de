"""What a client of the local emulator needs to know, without importing the emulator.

The emulator (`smus-mesh emulator serve`) checks no signatures unless `--iam enforce`:
any access key is the management account's, and these public test keys are not
credentials of any account.
`is_emulator` asks an endpoint's admin API whether it is the emulator, for the
hint that replaces "no credentials" when the endpoint is one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

#: The test keys `emulator serve` suggests (shaped like AWS keys; the emulator takes any).
TEST_ACCESS_KEY_ID = "AKIAEMULATORTEST0000"
TEST_SECRET_ACCESS_KEY = "emulator-test"  # noqa: S105 (not a secret: see the docstring)
#: The region suggested with them (the config's `region` is what the tool uses).
TEST_REGION = "us-east-1"


def credential_exports(region: str = TEST_REGION) -> str:
    """The `export` line of the test credentials and region."""
    return (
        f"export AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID} "
        f"AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY} AWS_DEFAULT_REGION={region}"
    )


def is_emulator(endpoint: str, timeout: float = 2.0) -> bool:
    """Whether `endpoint` answers `GET /_emulator/health` as the emulator does."""
    if not endpoint.startswith(("http://", "https://")):
        return False
    url = endpoint.rstrip("/") + "/_emulator/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # http(s) only, checked above
            health = json.loads(answer.read(65536))
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return (
        isinstance(health, dict)
        and health.get("status") == "ok"
        and isinstance(health.get("accounts"), list)
    )

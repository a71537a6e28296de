"""Where DataZone is reached: its real host is `datazone.<region>.api.aws`, which moto's URL
index does not know; in server mode moto's dispatcher builds `datazone.<region>.amazonaws.com`
from the credential scope. Every path goes to `responses.DataZoneResponse` (a catch-all
route, see registration.py), which matches the operation from the botocore model."""

from __future__ import annotations

import re

url_bases = [r"https?://datazone\.(.+)\.(amazonaws\.com|api\.aws)"]

#: (service, compiled base) pairs in the form of moto's `backend_url_patterns`.
URL_PATTERNS = [("datazone", re.compile(base)) for base in url_bases]

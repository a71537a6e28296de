"""Where Redshift Serverless is reached: `redshift-serverless.<region>.amazonaws.com`, which
moto's URL index does not know (moto has no such service)."""

from __future__ import annotations

import re

url_bases = [r"https?://redshift-serverless\.(.+)\.amazonaws\.com"]

#: (service, compiled base) pairs in the form of moto's `backend_url_patterns`.
URL_PATTERNS = [("redshift-serverless", re.compile(base)) for base in url_bases]

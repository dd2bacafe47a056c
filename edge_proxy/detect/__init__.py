"""The card number (PAN) detector: normalise, find digit runs, apply the card number rule.

Modules, from the bottom up: `luhn`, `normalise`, `candidates` (the rule, and what is
done with long digit runs), `encodings` (byte readings and percent layers), `tokens`
(base64 and hex), `reading` (the text reading every atom gets), `codings` (gzip, deflate,
br), `content_type`, `json_body`, `multipart`, `body` (the exact path), `fast` (the fast
path that proves a body clean without parsing it); `detector` puts them behind one class.
"""

from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.detector import PanDetector
from edge_proxy.detect.errors import Uninspectable

__all__ = ["Finding", "PanDetector", "Uninspectable"]

"""The card number (PAN) detector: normalise, find digit runs, apply the card number rule.

Modules, from the bottom up: `luhn`, `normalise`, `candidates` (the rule, and what is
done with long digit runs), `encodings` (byte readings and percent layers),
`content_type`, `json_body`, `multipart`, `body`; `detector` puts them behind one class.
"""

from edge_proxy.detect.body import Uninspectable
from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.detector import PanDetector

__all__ = ["Finding", "PanDetector", "Uninspectable"]

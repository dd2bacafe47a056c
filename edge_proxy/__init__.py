"""The edge: Strongroom's one public entry, in the PCI zone.

`wire` speaks HTTP/1.1 strictly (its own server and pooled upstream client). A request is
routed by host and path (`routing`): ``POST /v1/cards`` on an API host goes to the vault,
every other API path to the router once the filter chain (`filters`) has found no card
number in it (`detect`); the router's responses are checked the same way; a JS host is
served from a directory (`static`). `proxy.Edge` is the handler, `app` assembles and
serves it, ``python -m edge_proxy`` runs it (`config` lists the ``EDGE_*`` settings).
It imports no other package of this repository. docs/edge.md is the long version.
"""

"""The edge: Strongroom's one public entry, in the PCI zone.

A request is routed by host and path (`routing`): ``POST /v1/cards`` on an API host goes
to the vault, every other API path to the router once the filter chain (`filters`) has
found no card number in it (`detect`); the router's responses are checked the same way.
`app.create_app` assembles it; ``python -m edge_proxy`` serves it (`config` lists the
``EDGE_*`` settings). It imports no other package of this repository.
"""

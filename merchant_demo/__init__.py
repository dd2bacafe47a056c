"""A demo merchant: a shop whose checkout uses strongroom.js, and whose server charges
the token it receives with its secret key. It never sees a card number, and it keeps a
record of every request it received so tests can show that.

`app.create_app` assembles it; ``python -m merchant_demo`` serves it (`config` lists the
``MERCHANT_*`` settings). Like every service here it imports no other package of this
repository: it reaches Strongroom over HTTP, through the edge, as a merchant would.
"""

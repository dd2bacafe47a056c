"""HTTP/1.1 on the wire, strictly: `parse` (framing), `messages` (requests in,
responses out), `server` (the public listener) and `client` (pooled upstreams)."""

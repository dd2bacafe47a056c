"""HTTP/1.1 on the wire, strictly: `parse` (framing: llhttp and the edge's rules), `messages`
(requests in, responses out), `server` (the public listener) and `client` (pooled upstreams)."""

"""What every feature's routes share: the services, the caller, the body, the query, lists."""

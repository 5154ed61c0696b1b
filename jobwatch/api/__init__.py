"""The Sharely API: client (requests, 401 renewal), credentials, transport (security checks, error mapping), decode (parsing answers)."""

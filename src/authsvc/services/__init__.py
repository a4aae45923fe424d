"""Domain services, one module per concern. They take and return domain values
(`authsvc.domain`, models) and raise `authsvc.errors`; they know nothing of HTTP."""

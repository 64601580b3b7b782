"""The HTTP adapter: the application factory, request plumbing and error mapping."""

"""The HTTP API: the app factory, one router per resource, schemas, errors in one module, dependencies."""

"""qwak.model: the model base class, schema types and local tools."""

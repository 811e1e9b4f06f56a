"""qwak.model.decorators: ``api`` (the prediction method's decorator) and ``timer``."""

from .model import ChurnModel


def load_model():
    return ChurnModel()

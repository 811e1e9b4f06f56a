"""What auto's ``qwak`` package leaves out on purpose, and the error a model gets for it.

auto builds and serves models on its own; Qwak's hosted services (the feature store, the
platform clients, the artifact store, its LLM platform) and its SDK internals have no
counterpart here. Importing one fails at once (in the build, not on the first request) with
this message, rather than with Python's bare "No module named ...".
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

DOCS = "see docs/migrating-from-qwak.md, 'What the qwak package leaves out'"

_STORE = "keep files in the repository (main/) or as attributes of the model object"
_DI = ("qwak-core's dependency injection", "remove it: auto needs no wiring")
_PROTO = ("Qwak's protobuf build messages", "use ModelSchema.to_dict() to read a schema")
_INTERNAL = ("qwak-core's internals", "import the public name from `qwak` or `qwak.model`")
_FEATURE_STORE = "Qwak's feature store, a hosted service"
_CLIENT = ("Qwak's platform client", "use the `auto` command line")
_BATCH = (
    "Qwak's batch inference service",
    "run batch predictions with your own job against the served model",
)
_FEEDBACK = ("Qwak's feedback service", "log feedback yourself")
_ADDRESSES = ("the addresses of Qwak's platform", "pass model_api")

# Module or name -> (what it is, what to do instead).
LEFT_OUT: dict[str, tuple[str, str]] = {
    # Qwak's hosted services
    "qwak.feature_store": (
        _FEATURE_STORE,
        "send the features in the request, or read them in predict() from your own store",
    ),
    "qwak.model.fs_info_mapping_retriever": (_FEATURE_STORE, "remove it"),
    "qwak.model.schema.enrich_schema": (_FEATURE_STORE, "remove it"),
    "qwak.clients": (
        "Qwak's platform clients",
        "use the `auto` command line (builds, deployments, secrets, automations)",
    ),
    "qwak.qwak_client": _CLIENT,
    "qwak.QwakClient": _CLIENT,
    "qwak.automations": (
        "Qwak's automations SDK",
        "automations are YAML files here: convert yours with `auto import-qwak`",
    ),
    "qwak.llmops": ("Qwak's LLM platform", "call your model provider from predict()"),
    "qwak.model_loggers": ("Qwak's hosted artifact store", _STORE),
    "qwak.load_file": ("Qwak's hosted artifact store", _STORE),
    "qwak.load_data": (
        "Qwak's hosted artifact store",
        "keep data in the repository or read it from your own storage in build()",
    ),
    "qwak.load_model": (
        "Qwak's hosted model store",
        "each build's model is served by `auto deploy`; keep what you need in the model object",
    ),
    "qwak.log_model": (
        "Qwak's hosted model store",
        "auto stores the model object itself after build()",
    ),
    "qwak_inference.batch_client": _BATCH,
    "qwak_inference.BatchInferenceClient": _BATCH,
    "qwak_inference.feedback_client": _FEEDBACK,
    "qwak_inference.FeedbackClient": _FEEDBACK,
    "qwak_inference.configuration": (
        "the login to Qwak's platform",
        "a deployment with api_keys_secret takes `Authorization: Bearer <key>`",
    ),
    "qwak_inference.constants": _ADDRESSES,
    "qwak_inference.realtime_client.client.RestSession": (
        "the login to Qwak's platform (the client's token exchange)",
        "pass model_api; set AUTO_API_KEY for a deployment with api_keys_secret",
    ),
    "qwak_inference.realtime_client.client.QwakConstants": _ADDRESSES,
    "qwak_inference.realtime_client.client.DEFAULT_ENVIRONMENT_ERROR_MESSAGE": _ADDRESSES,
    "qwak_inference.exceptions": (
        "qwak-inference's own exception copies",
        "catch qwak.exceptions.QwakHTTPException, which the client raises",
    ),
    # SDK internals
    "qwak.inner": _DI,
    "qwak.wire_dependencies": _DI,
    "qwak.model.tools.wire_runtime_with_run_local": (
        "qwak-core's dependency injection",
        "call run_local(model, payload) directly",
    ),
    "qwak.model.tools.QwakRuntimeContainer": _DI,
    "qwak.model.tools.ContainerLock": _DI,
    "qwak.model.decorators.api.QwakRuntimeContainer": _DI,
    "qwak.model.decorators.timer.QwakRuntimeContainer": _DI,
    "qwak.model.decorators.impl": _DI,
    "qwak.model.schema.ProtoModelSchema": _PROTO,
    **{
        f"qwak.model.schema_entities.{name}": _PROTO
        for name in (
            "ProtoBatchFeatureV1",
            "ProtoEntity",
            "ProtoExplicitFeature",
            "ProtoFeature",
            "ProtoInferenceOutput",
            "ProtoPrediction",
            "ProtoRequestInput",
            "ValueType",
        )
    },
    "qwak.model.experiment_tracking": _INTERNAL,
    "qwak.model.analytics_logging": _INTERNAL,
    "qwak.model.utils": _INTERNAL,
    "qwak.model.tools.adapters": _INTERNAL,
    "qwak.model.tools.run_model_locally": _INTERNAL,
    "qwak.tools": _INTERNAL,
    "qwak.utils": _INTERNAL,
}

TOP = ("qwak", "qwak_inference")


def message(name: str) -> str:
    """Why ``name`` (a module or ``module.Name``) is not here and what to do instead."""
    for prefix in sorted(LEFT_OUT, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            what, fix = LEFT_OUT[prefix]
            return (
                f"{name} is left out of auto's `qwak` compatibility package: it is {what}, "
                f"which auto does not provide. {fix[0].upper()}{fix[1:]}; {DOCS}"
            )
    parent = name.rpartition(".")[0]
    return (
        f"{name} is not part of auto's `qwak` compatibility package; it provides the names "
        f"model code imports from {parent or name} and its documented modules. {DOCS}"
    )


class LeftOutError(ModuleNotFoundError):
    """Raised for a left-out module or name (an ImportError, so optional imports work)."""


class LeftOutFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: a ``qwak.*`` module nothing else found gets the message."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in TOP and "." in fullname:
            raise LeftOutError(message(fullname), name=fullname)
        return None


def install() -> None:
    if not any(isinstance(finder, LeftOutFinder) for finder in sys.meta_path):
        sys.meta_path.append(LeftOutFinder())


def missing(module: str, name: str) -> LeftOutError | AttributeError:
    """For a module's ``__getattr__``: the left-out error, or the usual AttributeError."""
    full = f"{module}.{name}"
    if full in LEFT_OUT:
        return LeftOutError(message(full), name=module)
    return AttributeError(f"module {module!r} has no attribute {name!r}")

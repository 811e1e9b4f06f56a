"""Run by the real qwak-core (in its own interpreter, never inside the test process, where
auto's `qwak` compatibility package may already be imported under the same name).

``python sdk_probe.py introspect``: every class and enum of ``qwak.automations`` with its
fields and defaults, and the SDK's name sets (GPU types, HTTP methods), as JSON.
``python sdk_probe.py build CASES.json``: each case's module executed with the SDK; for each
``Automation`` it defines, whether ``to_proto()`` accepts it and the object as JSON.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import importlib
import importlib.metadata
import inspect
import json
import pkgutil
import sys
from typing import Any


def view(value: Any) -> Any:
    """An SDK object as JSON: dataclasses by class and field, enum members by name."""
    if isinstance(value, enum.Enum):
        return {"$enum": type(value).__name__, "$member": value.name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"$class": type(value).__name__}
        for field in dataclasses.fields(value):
            out[field.name] = view(getattr(value, field.name))
        return out
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): view(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__.startswith("Repeated"):
        return [view(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"$other": type(value).__name__, "$repr": repr(value)}


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return view(field.default)
    if field.default_factory is not dataclasses.MISSING:
        try:
            return view(field.default_factory())
        except TypeError:  # an abstract class as the default: no usable default
            return {"$unconstructible": getattr(field.default_factory, "__name__", "?")}
    return {"$required": True}


def introspect() -> dict[str, Any]:
    import qwak.automations as package
    from _qwak_proto.qwak.user_application.common.v0.resources_pb2 import GpuType
    from qwak.automations import CustomWebhook

    classes: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if not inspect.isclass(obj) or obj.__module__ != module.__name__:
                continue
            if issubclass(obj, enum.Enum):
                enums[name] = {"module": info.name, "members": [m.name for m in obj]}
            elif dataclasses.is_dataclass(obj):
                classes[name] = {
                    "module": info.name,
                    "exported": name in package.__all__,
                    "abstract": inspect.isabstract(obj),
                    "fields": [f.name for f in dataclasses.fields(obj)],
                    "defaults": {f.name: _default(f) for f in dataclasses.fields(obj)},
                }
            else:
                classes[name] = {"module": info.name, "plain": True}
    return {
        "version": importlib.metadata.version("qwak-core"),
        "classes": classes,
        "enums": enums,
        "gpu_types": [n for n in GpuType.keys() if n != "INVALID_GPU_TYPE"],  # noqa: SIM118 - a protobuf enum
        "http_methods": list(CustomWebhook._HTTP_NAME_TO_STATUS_MAPPING),
    }


def build(cases_file: str) -> list[dict[str, Any]]:
    from qwak.automations import Automation

    with open(cases_file, encoding="utf-8") as handle:
        cases = json.load(handle)
    results = []
    for case in cases:
        namespace: dict[str, Any] = {"__name__": "qwak_case"}
        try:
            exec(compile(case["source"], case["id"], "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - the case is not valid Qwak code
            results.append({"id": case["id"], "error": f"{type(exc).__name__}: {exc}"})
            continue
        automations = []
        for name, value in namespace.items():
            if not isinstance(value, Automation):
                continue
            try:
                value.to_proto()
                proto = ""
            except Exception as exc:  # noqa: BLE001
                proto = f"{type(exc).__name__}: {exc}"
            automations.append({"binding": name, "to_proto_error": proto, "object": view(value)})
        results.append({"id": case["id"], "automations": automations})
    return results


if __name__ == "__main__":
    if sys.argv[1] == "introspect":
        json.dump(introspect(), sys.stdout)
    else:
        json.dump(build(sys.argv[2]), sys.stdout)

"""A package's manifest as one typed value: checked against manifest.schema.json when a package loads (a bad
or foreign manifest fails naming the field), then read through attributes. The label set a segmentation
package was trained for travels with it, so every writer, sink, renderer and metric takes names, raw ids and
palette from the package, never from a default."""
from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sensors.labels import LABEL_SETS, LabelSet

from .ops.bebr_spec import CodeError, CodeLayout
from .ops.rapid_spec import RapidConfig

SCHEMA = Path(__file__).resolve().parent / "manifest.schema.json"
FORMAT = "rapid-edge-package"
FORMAT_VERSION = 1
FORMS = ("portable", "plugin", "split")
#: a graph's arithmetic: fp32, or int8 (explicit Q/DQ) for ONNX Runtime's CPU provider
PRECISIONS = ("fp32", "int8")


class ManifestError(ValueError):
    """A manifest does not describe a package this SDK reads; the message names the field."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: list[int | str]  # str: a dynamic axis named in the manifest's profiles

    @classmethod
    def from_json(cls, data: dict) -> TensorSpec:
        return cls(data["name"], data["dtype"], list(data["shape"]))


@dataclass(frozen=True)
class ModelIdentity:
    """What was exported: the SDK's model name (or your factory), its version and checkpoint."""

    name: str
    version: str | None = None
    checkpoint: str | None = None
    factory: str | None = None
    weights_sha256: str | None = None


@dataclass(frozen=True)
class RangeImageInput:
    """The range image a segmentation network reads, and the sensors whose geometry tables it was exported with."""

    rows: int
    columns: int
    sensors: tuple[str, ...] = ()


@dataclass(frozen=True)
class BinaryCodes:
    """A binarizer package's codes: their layout, version and the versions whose indexes its queries may search."""

    layout: CodeLayout
    code_version: str
    compatible_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelCard:
    """The model card's facts a user must see where the model runs: what it was trained on and for which
    sensors, where and how well it was evaluated (mIoU), and whether it is a demonstration."""

    demonstration: bool
    trained_on: str
    sensors: tuple[str, ...]
    evaluated_on: str
    miou: float
    card: str

    def caveat(self) -> str | None:
        """One line for the run header, summaries and renders; None for weights not marked a demonstration."""
        if not self.demonstration:
            return None
        return (f"demonstration weights: trained on {self.trained_on}, {100 * self.miou:.1f} % mIoU on "
                f"{self.evaluated_on}; do not trust these labels ({self.card})")


@dataclass(frozen=True)
class Manifest:
    model: ModelIdentity
    form: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    profiles: dict[str, dict[str, int]]
    files: dict[str, str]
    opset: int | None = None
    custom_ops: tuple[str, ...] = ()
    #: segmentation: the classes it predicts (names, raw dataset ids, palette), its input, and RAPiD's settings
    #: when the features are computed before the graph (the split form)
    label_set: LabelSet | None = None
    range_image: RangeImageInput | None = None
    rapid: RapidConfig | None = None
    #: the neighbour vote's settings (window, radius); None: a package exported before the vote existed
    neighbour_vote: dict[str, Any] | None = None
    #: retrieval: the embeddings' width and the codes made of them
    embedding_dim: int | None = None
    bebr: BinaryCodes | None = None
    built_from: dict[str, str | None] | None = None
    model_card: ModelCard | None = None
    model_config: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    producer: dict[str, str] | None = None
    #: the graph's arithmetic (fp32, or int8 Q/DQ for ONNX Runtime's CPU provider) and, when reduced, what
    #: was quantized and how it was chosen
    precision: str = "fp32"
    quantization: dict[str, Any] | None = None
    #: the JSON as written, what `seal` rewrites and a Triton repository copies
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, document: dict[str, Any], origin: str | Path = "manifest") -> Manifest:
        check_schema(document, origin)
        pre = document["preprocessing"]
        size, rapid, embeddings = pre.get("range_image"), pre.get("rapid"), pre.get("embeddings")
        return cls(
            model=ModelIdentity(**document["model"]), form=document["form"],
            inputs=tuple(map(TensorSpec.from_json, document["inputs"])),
            outputs=tuple(map(TensorSpec.from_json, document["outputs"])),
            profiles=document["profiles"], files=document["files"],
            opset=document.get("opset"), custom_ops=tuple(document.get("custom_ops", ())),
            label_set=label_set_of(document, origin),
            range_image=RangeImageInput(size["rows"], size["columns"], tuple(size.get("sensors", ()))) if size else None,
            rapid=rapid_config_of(rapid, origin) if rapid else None,
            neighbour_vote=document.get("postprocessing", {}).get("neighbour_vote"),
            embedding_dim=embeddings["dim"] if embeddings else None, bebr=binary_codes_of(document, origin),
            built_from=document.get("built_from"), model_config=document.get("model_config"),
            model_card=ModelCard(**{**card, "sensors": tuple(card["sensors"])}) if (card := document.get("model_card")) else None,
            training=document.get("training"), producer=document.get("producer"),
            precision=document.get("precision", "fp32"), quantization=document.get("quantization"),
            document=copy.deepcopy(document))

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.document)


@functools.cache
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    schema["properties"]["format"] = {"const": FORMAT}
    schema["properties"]["format_version"] = {"const": FORMAT_VERSION}
    schema["properties"]["form"] = {"enum": list(FORMS)}
    schema["properties"]["precision"] = {"enum": list(PRECISIONS)}
    return jsonschema.Draft202012Validator(schema)


def check_schema(document: Any, origin: str | Path) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ManifestError(f"{origin}: field {where}: {error.message}")


def label_set_of(document: dict[str, Any], origin: str | Path) -> LabelSet | None:
    """The SDK's label set the manifest names; its classes must be that set's, or the package's labels would be
    written with another dataset's ids. The palette is drawn from the set (a package exported before a colour
    was corrected still loads); the manifest's must only give each class one colour."""
    name = document.get("label_set")
    if name is None:
        return None
    if name not in LABEL_SETS:
        raise ManifestError(f"{origin}: field label_set: {name!r} is not a label set this SDK knows "
                            f"({', '.join(LABEL_SETS)})")
    label_set = LABEL_SETS[name]
    if tuple(document["classes"]) != label_set.class_names:
        raise ManifestError(f"{origin}: field classes: not {name}'s {len(label_set.class_names)} classes")
    if len(document["palette"]) != len(label_set.class_names):
        raise ManifestError(f"{origin}: field palette: {len(document['palette'])} colours for "
                            f"{len(label_set.class_names)} classes")
    return label_set


def binary_codes_of(document: dict[str, Any], origin: str | Path) -> BinaryCodes | None:
    bebr = document.get("bebr")
    if bebr is None:
        return None
    try:
        layout = CodeLayout(**bebr["layout"])
    except CodeError as err:
        raise ManifestError(f"{origin}: field bebr/layout: {err}") from None
    return BinaryCodes(layout, bebr["code_version"], tuple(bebr.get("compatible_with", ())))


def rapid_config_of(data: dict[str, Any], origin: str | Path) -> RapidConfig:
    try:
        return RapidConfig.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        raise ManifestError(f"{origin}: field preprocessing/rapid: not RAPiD's settings ({err})") from None

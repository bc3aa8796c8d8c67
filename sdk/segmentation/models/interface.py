"""The interface every range-view segmentation network has inside the SDK, whoever wrote it: the feeds the
SDK's preprocessing makes (range image, point -> pixel index, points, optionally RAPiD features) and the
per-point logits it reads back. Export, parity, packages and runtimes depend on this, not on a model class."""
from __future__ import annotations

from dataclasses import dataclass

from runtimes.ops.rapid_spec import RapidConfig
from sensors.labels import LabelSet


@dataclass(frozen=True)
class NetworkInterface:
    rows: int
    columns: int
    label_set: LabelSet
    #: the RAPiD features' settings when the network reads them, None when it does not
    rapid: RapidConfig | None
    #: whether the graph reads the points themselves (a per-point head does; per-pixel logits do not)
    reads_points: bool = True

    def input_names(self, rapid_fed: bool) -> tuple[str, ...]:
        """The graph's inputs, in order; `rapid_fed`: the features come from outside the graph (split form)."""
        return graph_inputs(self.reads_points, rapid_fed and self.rapid is not None)

    @property
    def classes(self) -> int:
        """Logits per point: the label set's training classes (label = argmax + 1; 0 stays "ignore")."""
        return len(self.label_set.class_names) - 1


def graph_inputs(points: bool, rapid: bool) -> tuple[str, ...]:
    """A range-view graph's input names, in order: the range image and each point's pixel always, then the
    points and the RAPiD features where the graph takes them."""
    return ("image", "pixel", *(("points",) if points else ()), *(("rapid",) if rapid else ()))


#: where a network's RAPiD features come from: a graph input (split form), standard ops in the graph
#: (portable) or one rapid::RapidFeatures node (plugin)
RAPID_FORMS = ("input", "portable", "plugin")


def rapid_in_graph(image, config: RapidConfig, rapid_form: str):
    """RAPiD features of a [B, 4, H, W] range image inside the graph, as the form exports them."""
    if rapid_form == "plugin":
        from export.rapid_op.custom_op import rapid_features_plugin

        return rapid_features_plugin(image, config)
    if rapid_form == "portable":
        from export.rapid_op.torch_impl import rapid_features_torch

        return rapid_features_torch(image, config)
    raise ValueError(f"rapid_form {rapid_form!r} takes RAPiD features as an input, it does not compute them")

"""The base of the SDK's own errors that are not bad input (a missing TensorRT, a failed parity check, an
engine built for another GPU): each message already says what is wrong and what to do, so the CLI prints it
as one line and exits 2, as for bad input, instead of a traceback."""
from __future__ import annotations


class SdkError(RuntimeError):
    """An error whose message is the whole story for the user."""


class RuntimeUnavailable(SdkError):
    """A runtime was asked for that this machine cannot run; the message names what to install."""

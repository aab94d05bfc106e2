"""Vendor SDKs are optional (the ``hardware`` extra): drivers import them when they are
used, never at module import, and a missing one becomes one line naming what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from robot_us.core.backends import BackendError

#: The extra that installs every vendor SDK.
EXTRA = "hardware"


class MissingSdkError(BackendError):
    """A vendor SDK a driver needs is not installed."""


def require(module: str, package: str, what: str) -> ModuleType:
    """Import ``module`` (from the PyPI ``package``) for ``what`` (e.g. "the UR arm driver"),
    or raise ``MissingSdkError`` with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingSdkError(
            f"{what} needs the '{package}' package ({exc}); install it with: "
            f"pip install 'robot-us[{EXTRA}]'"
        ) from exc

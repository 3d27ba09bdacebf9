"""Library configurations (see ``library_configs``) of the record paths family."""

from __future__ import annotations

from library_configs import LibraryConfig, ServiceSetup

__all__ = ["CONFIGS", "LibraryConfig", "ServiceSetup"]

CONFIGS: tuple[LibraryConfig, ...] = ()

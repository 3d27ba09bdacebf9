"""Maps the top-level folders onto the ``flowyard.*`` import namespace.

Metadata lives in pyproject.toml; this file only computes the package list so
that new sub-packages never need to be listed by hand.
"""

from setuptools import find_packages, setup

ROOTS = ("runtime", "processors", "clusters", "canvas_ui")

packages: list[str] = []
package_dir: dict[str, str] = {}
for root in ROOTS:
    package_dir[f"flowyard.{root}"] = root
    packages.append(f"flowyard.{root}")
    packages.extend(f"flowyard.{root}.{sub}" for sub in find_packages(root))

setup(packages=packages, package_dir=package_dir)

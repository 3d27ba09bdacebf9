"""Maps the top-level folders onto the ``flowyard.*`` import namespace, and
refuses to build a wheel or an sdist without the built canvas.

Metadata lives in pyproject.toml; this file only computes the package list so
that new sub-packages never need to be listed by hand. The canvas is built by
Vite (``make canvas``) into ``canvas_ui/web/dist``, which pyproject.toml's
package-data puts in the wheel and the sdist; its sources and node_modules
stay out. Without it an installed flowyard would serve only the fallback page,
so such a build fails with the command to run. An editable install (``pip
install -e``, what ``make`` does before building the canvas) reads the
folder in place and is not checked.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOTS = ("runtime", "processors", "clusters", "canvas_ui", "bootstrap")
CANVAS = Path(__file__).resolve().parent / "canvas_ui" / "web" / "dist"


def require_built_canvas() -> None:
    """Exit with instructions unless ``canvas_ui/web/dist`` holds a built canvas."""
    if (CANVAS / "index.html").is_file() and any((CANVAS / "assets").glob("*.js")):
        return
    raise SystemExit(
        f"error: the canvas is not built ({CANVAS}/index.html or its assets/*.js are missing), so this "
        "package would serve the fallback page instead of it. Run `make canvas` (needs npm) and build again, "
        "or run `make wheel`, which builds both."
    )


class BuildPyWithCanvas(build_py):
    """build_py that requires the built canvas, except for editable installs."""

    def run(self) -> None:
        if not self.editable_mode:
            require_built_canvas()
        super().run()


class SdistWithCanvas(sdist):
    """sdist that requires the built canvas (the sdist carries it: building a
    wheel from the sdist needs no npm)."""

    def run(self) -> None:
        require_built_canvas()
        super().run()


packages: list[str] = []
package_dir: dict[str, str] = {}
for root in ROOTS:
    package_dir[f"flowyard.{root}"] = root
    packages.append(f"flowyard.{root}")
    packages.extend(f"flowyard.{root}.{sub}" for sub in find_packages(root))

setup(packages=packages, package_dir=package_dir, cmdclass={"build_py": BuildPyWithCanvas, "sdist": SdistWithCanvas})

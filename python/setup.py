"""Build hooks of the jacnet package; the metadata is in pyproject.toml.

setup.py only does what a static file cannot:
 * the version, read from jacnet.h: $JACNET_HEADER, else ../include/jacnet.h
   (a source checkout), else the installed header (pkg-config jacnet);
 * jacnet/_version.py, so the installed package knows that version and can
   check it against the library's jn_version() at import;
 * with JACNET_BUNDLE_LIB=/path/to/libjacnet.so.X.Y.Z (make wheel): a copy
   of the library inside the package, jacnet/libjacnet.so.X, and a
   platform wheel tag, since the wheel then holds machine code;
 * otherwise jacnet/_paths.py recording the installed library
   ($JACNET_LIBDIR, else pkg-config's libdir of jacnet) when it exists, so
   the package finds it without LD_LIBRARY_PATH.
"""
import importlib.util
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.environ.get("JACNET_BUNDLE_LIB")


def _header_module():
    # Loaded from its file: importing the package would load the library.
    spec = importlib.util.spec_from_file_location("jacnet_header", os.path.join(HERE, "jacnet", "_header.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pkg_config(variable):
    try:
        out = subprocess.run(["pkg-config", "--variable=" + variable, "jacnet"], capture_output=True, text=True)
    except OSError:
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _header_path():
    tried = []
    for path in (os.environ.get("JACNET_HEADER"), os.path.join(HERE, "..", "include", "jacnet.h"),
                 os.path.join(_pkg_config("includedir") or "", "jacnet.h")):
        if path:
            if os.path.isfile(path):
                return os.path.normpath(path)
            tried.append(path)
    raise SystemExit("jacnet: cannot find jacnet.h (tried %s); set JACNET_HEADER or install libjacnet "
                     "(make install) where pkg-config finds it" % ", ".join(tried))


VERSION = _header_module().version_from_header(_header_path())


class build_py_with_library(build_py):
    """build_py, plus the generated modules and the bundled library."""

    def run(self):
        # Start from an empty package directory: an in-tree build directory
        # may hold a library or _paths.py from an earlier, different build.
        pkg = os.path.join(self.build_lib, "jacnet")
        shutil.rmtree(pkg, ignore_errors=True)
        super().run()
        with open(os.path.join(pkg, "_version.py"), "w") as f:
            f.write("# Written by setup.py from jacnet.h.\nVERSION = (%d, %d, %d)\n" % VERSION)
        name = "libjacnet.so.%d" % VERSION[0]
        if BUNDLE:
            shutil.copy(BUNDLE, os.path.join(pkg, name))
            return
        libdir = os.environ.get("JACNET_LIBDIR") or _pkg_config("libdir")
        library = os.path.join(libdir, name) if libdir else None
        if library and os.path.exists(library):
            with open(os.path.join(pkg, "_paths.py"), "w") as f:
                f.write("# Written by setup.py: the library pkg-config pointed to at build time.\n"
                        "INSTALLED_LIBRARY = %r\n" % library)
            print("jacnet: recording %s" % library)
        else:
            print("jacnet: no installed libjacnet found through pkg-config (%s); the package will look "
                  "for it at import ($JACNET_LIB, then the system's)" % (library or "no jacnet.pc"))


commands = {"build_py": build_py_with_library}
options = {}
if BUNDLE:
    from setuptools.dist import Distribution

    class binary_distribution(Distribution):
        """Holds machine code: install it as platform-specific (platlib, at
        the wheel's root) rather than as pure Python."""

        def has_ext_modules(self):
            return True

    options["distclass"] = binary_distribution
    from wheel.bdist_wheel import bdist_wheel

    class platform_wheel(bdist_wheel):
        """A wheel holding libjacnet.so: any Python 3, this platform only."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            return ("py3", "none", super().get_tag()[2])

    commands["bdist_wheel"] = platform_wheel

setup(version="%d.%d.%d" % VERSION, cmdclass=commands, **options)

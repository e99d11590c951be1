"""Packaging. Metadata lives in setup.cfg; this file says what is installed.

The twistd plugin lives in ``twisted/plugins/`` with no ``__init__.py`` in
``twisted/`` or ``twisted/plugins/``: Twisted finds plugins in every
``twisted/plugins`` directory on ``sys.path``. Listing ``twisted.plugins`` as
a package installs only our module beside Twisted's own plugins (never a
``twisted/__init__.py``). ``package_dir = {"": "."}`` keeps the project a
simple layout, so that ``pip install -e .`` puts the checkout itself on
``sys.path`` (a .pth file) and the plugin is found there too.
"""

from setuptools import find_packages, setup

setup(
    package_dir={"": "."},
    packages=find_packages(include=["cpmstore", "cpmstore.*"]) + ["twisted.plugins"],
)

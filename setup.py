"""Which packages the wheel carries: every sub-package of dashboard/, found rather than listed, so
that a new one cannot drop out of the wheel; and the templates/, static/ and locales/ folders, kept at the
top level of the checkout (the design card's layout) and shipped inside the package, where the
code finds them through importlib.resources. tests/integration/test_packaging.py installs that
wheel in a clean venv and serves every page and every file the pages link from outside the
checkout."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["dashboard", "dashboard.*"]), "dashboard.templates",
              "dashboard.static", "dashboard.locales"],
    package_dir={"dashboard.templates": "templates", "dashboard.static": "static",
                 "dashboard.locales": "locales"},
    package_data={"dashboard.templates": ["*.html", "partials/*.html"], "dashboard.static": ["*"],
                  "dashboard.locales": ["*/LC_MESSAGES/messages.po"]},
)  # fmt: skip

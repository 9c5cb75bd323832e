"""The one part of the build `pyproject.toml` cannot declare: the optional C walk of the rules engine.

`optional=True`: where no C compiler is found, the install goes on without it and matching uses the
Python walk (`src/ccbridge/core/rules/native.py` says why the C one exists and what it changes).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ccbridge.core.rules._walk",
            ["src/ccbridge/core/rules/_walk.c"],
            optional=True,
            extra_compile_args=["-O2", "-std=c11"],
        )
    ]
)

"""Console view plug-ins: every module here with `blueprint` and/or `setup(app)` is registered (see docs/console.md)."""

"""Validation of the merit-order model on the real 2019-2023 SMARD export: ``scripts/validate_merit_order.py``
writes ``docs/validation.md`` from it. Not part of the product (the package never imports it)."""

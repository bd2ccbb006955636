"""The product's rules as plain functions and dataclasses: no I/O, no framework, no database."""

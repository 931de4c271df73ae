"""Benchmarks, the production-scale bank and the load test: not part of the product.

A Django app only so that its thin management commands (`bench_search`, `bench_embed`,
`bench_import`, `bench_import_embeddings`, `seed_scale`, `load_test`) run as
`./dev manage …`; it has no models, URLs or templates. It is not installed by pip
(pyproject's packages.find leaves it out): it is imported from the source tree, which
`manage.py`, `./dev` and the Docker image (PYTHONPATH=/app) all run from. It may import the
product and `tests.support`; the product never imports it.
"""

import io

from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext

from embeddings import pipeline, services
from embeddings.backends.base import BackendConfig
from embeddings.models import EmbeddingSpace, ItemEmbedding
from tests.base import BaseTestCase, make_item
from tests.embeddings.hashing_backend import NAME, make_space, register


class SpaceTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        register()

    def test_config_mirrors_the_space(self) -> None:
        space = make_space(
            instruction="Represent the item.",
            query_instruction="Find similar items.",
            options={"pooling": "last"},
            device="cuda:1",
            dtype="float16",
        )
        config = space.config()
        self.assertIsInstance(config, BackendConfig)
        self.assertEqual(config.backend, NAME)
        self.assertEqual(config.dimensions, 16)
        self.assertEqual(config.instruction, "Represent the item.")
        self.assertEqual(config.device, "cuda:1")
        self.assertEqual(config.dtype, "float16")
        self.assertEqual(
            config.options, {"pooling": "last", "query_instruction": "Find similar items."}
        )

    def test_register_reads_dimensions_from_backend(self) -> None:
        space = services.register_space("probe", NAME, options={})
        self.assertEqual(space.dimensions, 16)
        self.assertEqual(space.modalities, ["image", "text"])

    def test_register_rejects_unknown_backend_and_duplicate_name(self) -> None:
        with self.assertRaises(services.SpaceError):
            services.register_space("x", "no-such-backend", dimensions=8)
        make_space("dup")
        with self.assertRaises(services.SpaceError):
            make_space("dup")

    def test_register_builds_partial_hnsw_index(self) -> None:
        space = make_space()
        self.assertEqual(services.index_state(space), "valid")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = %s", [space.index_name]
            )
            (indexdef,) = cursor.fetchone()
        self.assertIn("USING hnsw", indexdef)
        self.assertIn("halfvec(16)", indexdef)
        self.assertIn("halfvec_cosine_ops", indexdef)
        self.assertIn(f"WHERE (space_id = {space.pk})", indexdef)
        # Idempotent.
        self.assertTrue(services.ensure_index(space))

    def test_search_query_uses_the_space_index(self) -> None:
        space = make_space()
        other = make_space("other", dimensions=8)
        items = [make_item(f"MATH-2-{i:06d}", stem=f"문항 {i} 덧셈 {i * 7}") for i in range(60)]
        pipeline.embed_items(space, [i.pk for i in items])
        pipeline.embed_items(other, [i.pk for i in items])
        query = [0.1] * 16
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = services.nearest(space, query, k=5).explain()
            hits = list(services.nearest(space, query, k=5))
        self.assertIn(space.index_name, plan)
        self.assertNotIn(other.index_name, plan)
        self.assertEqual(len(hits), 5)
        self.assertTrue(all(h.space_id == space.pk for h in hits))
        distances = [h.distance for h in hits]
        self.assertEqual(distances, sorted(distances))

    def test_exactly_one_default(self) -> None:
        a = make_space("a", make_default=True)
        b = make_space("b")
        self.assertEqual(services.default_space(), a)
        services.activate_space(b)
        self.assertEqual(services.default_space(), b)
        self.assertEqual(EmbeddingSpace.objects.filter(is_default=True).count(), 1)
        with self.assertRaises(IntegrityError), transaction.atomic():
            EmbeddingSpace.objects.filter(pk=a.pk).update(is_default=True)

    def test_default_space_cannot_be_disabled_or_dropped(self) -> None:
        space = make_space(make_default=True)
        with self.assertRaises(services.SpaceError):
            services.set_enabled(space, False)
        with self.assertRaises(services.SpaceError):
            services.drop_space(space)

    def test_drop_removes_index_and_vectors(self) -> None:
        keep = make_space("keep")
        space = make_space()
        item = make_item()
        pipeline.embed_items(space, [item.pk])
        pipeline.embed_items(keep, [item.pk])
        services.drop_space(space)
        self.assertEqual(services.index_state(space), "missing")
        self.assertFalse(EmbeddingSpace.objects.filter(name="hash16").exists())
        self.assertEqual(ItemEmbedding.objects.get().space, keep)
        self.assertEqual(services.index_state(keep), "valid")

    def test_spaces_command(self) -> None:
        out = io.StringIO()
        call_command(
            "spaces", "register", "cmd", "--backend", NAME, "--dimensions", "8", stdout=out
        )
        space = EmbeddingSpace.objects.get(name="cmd")
        self.assertEqual(space.dimensions, 8)
        self.assertEqual(services.index_state(space), "valid")
        make_item()
        call_command("spaces", "activate", "cmd", stdout=out)
        self.assertTrue(EmbeddingSpace.objects.get(name="cmd").is_default)
        out = io.StringIO()
        call_command("spaces", "list", stdout=out)
        self.assertIn("cmd", out.getvalue())
        self.assertRegex(
            out.getvalue(), r"cmd\s+test-hash\s+8\s+True\s+True\s+valid\s+0\s+0\s+0\s+1"
        )
        make_space("other")
        call_command("spaces", "activate", "other", stdout=out)
        call_command("spaces", "drop", "cmd", "--yes", stdout=out)
        self.assertFalse(EmbeddingSpace.objects.filter(name="cmd").exists())


class ConcurrentIndexTestCase(TransactionTestCase):
    """Outside a transaction (the admin, the command, a worker) index DDL runs CONCURRENTLY."""

    def test_register_activate_drop_without_a_transaction(self) -> None:
        register()
        item = make_item()
        old = make_space("old", make_default=True)
        pipeline.embed_items(old, [item.pk])
        with CaptureQueriesContext(connection) as queries:
            new = make_space("new")
        self.assertTrue(
            any("CREATE INDEX CONCURRENTLY" in q["sql"] for q in queries.captured_queries)
        )
        self.assertEqual(services.index_state(new), "valid")
        pipeline.embed_items(new, [item.pk])
        services.activate_space(new)
        self.assertEqual(services.default_space(), new)
        with CaptureQueriesContext(connection) as queries:
            services.drop_space(old)
        self.assertTrue(
            any("DROP INDEX CONCURRENTLY" in q["sql"] for q in queries.captured_queries)
        )
        self.assertEqual(services.index_state(old), "missing")
        self.assertEqual(services.nearest(new, [0.5] * 16, k=1).get().item_id, item.pk)

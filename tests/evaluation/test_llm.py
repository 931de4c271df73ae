"""The LLM judge against a local OpenAI-compatible server started by the test (never the
internet): prompts, JSON answers, graded relevance, failures, and the setting that turns it off."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import translation

from search.evaluation import groundtruth, llm
from search.evaluation.groundtruth import GroundTruthError
from search.evaluation.models import GroundTruthSet
from tests.evaluation.base import BankTestCase


class FakeChat(BaseHTTPRequestHandler):
    answers: list = []  # each: a str content, or an int HTTP status
    requests: list = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        answer = type(self).answers.pop(0) if type(self).answers else '{"similar": []}'
        if isinstance(answer, int):
            self.send_response(answer)
            self.end_headers()
            return
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args) -> None:
        pass


class LLMJudgeTests(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        FakeChat.answers = []
        FakeChat.requests = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def chat(self) -> llm.ChatClient:
        return llm.ChatClient(url=self.url, model="judge-mini", api_key="sk-test", timeout=5)

    def test_judge_builds_graded_pairs(self) -> None:
        FakeChat.answers = ['Sure: {"similar": [2], "duplicates": [1]}', '{"similar": []}']
        gt_set, report = groundtruth.build_llm(
            "llm", ["M-1", "S-3"], "eval-hash", "dense", k=3, client=self.chat()
        )
        request = FakeChat.requests[0]
        self.assertEqual(request["path"], "/v1/chat/completions")
        self.assertEqual(request["auth"], "Bearer sk-test")
        self.assertEqual(request["body"]["model"], "judge-mini")
        user_text = request["body"]["messages"][1]["content"]
        self.assertIn("정사각형", user_text)
        self.assertIn("#3", user_text)
        pairs = groundtruth.pairs_by_external_id(gt_set)
        self.assertEqual(sorted(pairs["M-1"].values()), [1, 2])
        self.assertNotIn("S-3", pairs)  # judged, nothing similar
        self.assertEqual(gt_set.kind, "llm")
        self.assertEqual(gt_set.provenance["empty_queries"], ["S-3"])
        self.assertEqual(report.empty_queries, 1)

    def test_unusable_answers_are_reported_not_guessed(self) -> None:
        FakeChat.answers = ['{"similar": [9]}', "no idea", 500, '{"similar": [1]}']
        gt_set, _report = groundtruth.build_llm(
            "llm",
            ["M-1", "M-2", "M-3", "S-1"],
            "eval-hash",
            "dense",
            k=3,
            client=self.chat(),
        )
        failed = gt_set.provenance["failed"]
        self.assertEqual(set(failed), {"M-1", "M-2", "M-3"})
        self.assertIn("not shown", failed["M-1"])
        self.assertIn("JSON", failed["M-2"])
        self.assertIn("HTTP 500", failed["M-3"])
        self.assertEqual(list(groundtruth.pairs_by_external_id(gt_set)), ["S-1"])

    def test_every_query_failing_saves_nothing(self) -> None:
        FakeChat.answers = [503, 503]
        with self.assertRaisesMessage(GroundTruthError, "HTTP 503"):
            groundtruth.build_llm(
                "llm", ["M-1", "S-1"], "eval-hash", "dense", k=3, client=self.chat()
            )
        self.assertFalse(GroundTruthSet.objects.exists())

    def test_parse_answer(self) -> None:
        self.assertEqual(llm.parse_answer('{"similar": ["#2", 3]}', 3), {2: 1, 3: 1})
        for bad in ('{"similar": 2}', '{"similar": [true]}', "[1, 2]", "nothing here"):
            with self.subTest(bad=bad), self.assertRaises(llm.LLMError):
                llm.parse_answer(bad, 3)

    @override_settings(ITEMBANK_LLM_URL="")
    def test_off_without_setting(self) -> None:
        with self.assertRaisesMessage(llm.LLMError, "ITEMBANK_LLM_URL"):
            llm.client_from_settings()
        with self.assertRaisesMessage(CommandError, "The LLM judge is off"):
            call_command("build_ground_truth", "--kind", "llm", "--queries", "all")

    def test_command_uses_settings(self) -> None:
        FakeChat.answers = ['{"similar": [1]}'] * 10
        with override_settings(ITEMBANK_LLM_URL=self.url, ITEMBANK_LLM_MODEL="judge-mini"):
            call_command(
                "build_ground_truth",
                "--kind",
                "llm",
                "--name",
                "llm-cmd",
                "--queries",
                "all",
                "--space",
                "eval-hash",
                "--k",
                "2",
            )
        gt_set = GroundTruthSet.objects.get(name="llm-cmd")
        self.assertEqual(gt_set.provenance["model"], "judge-mini")
        self.assertEqual(gt_set.pairs.values("query").distinct().count(), 7)

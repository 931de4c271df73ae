from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.base import make_item, png_bytes
from tests.itembank.ui_base import UITestCase


class MediaTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item(
            images=[png_bytes("red"), png_bytes("red", fmt="JPEG"), png_bytes("blue", fmt="WEBP")]
        )
        self.images = list(self.item.images.order_by("position"))
        self.url = reverse("media", args=[self.images[0].file.name])

    def test_anonymous_is_sent_to_login(self) -> None:
        r = self.client.get(self.url)
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r.url.startswith(reverse("login")))

    def test_every_role_gets_the_file_with_its_type(self) -> None:
        expected = ["image/png", "image/jpeg", "image/webp"]
        for user in (self.teacher, self.reviewer, self.admin):
            self.login(user)
            for image, content_type in zip(self.images, expected, strict=True):
                r = self.client.get(reverse("media", args=[image.file.name]))
                self.assertEqual(r.status_code, 200)
                self.assertEqual(r["Content-Type"], content_type)
                self.assertEqual(r["X-Content-Type-Options"], "nosniff")
                with image.file.open("rb") as fh:
                    self.assertEqual(b"".join(r.streaming_content), fh.read())

    def test_shared_file_is_served(self) -> None:
        # The same figure on two items is stored once; both rows point at it.
        make_item("OTHER-1", images=[png_bytes("red")])
        self.login(self.teacher)
        self.assertEqual(self.client.get(self.url).status_code, 200)

    def test_unknown_paths_are_404(self) -> None:
        self.login(self.teacher)
        for path in ("items/00/none.png", "../settings.py", "items/../../etc/passwd"):
            with self.subTest(path=path):
                self.assertEqual(self.client.get(f"/media/{path}").status_code, 404)

    def test_file_missing_on_disk_is_404(self) -> None:
        image = self.images[2]
        image.file.storage.delete(image.file.name)
        self.login(self.teacher)
        r = self.client.get(reverse("media", args=[image.file.name]))
        self.assertEqual(r.status_code, 404)


class MediaTokenTests(UITestCase):
    """The API links to images (`images[].url`); an API client fetches them with its token."""

    def setUp(self) -> None:
        super().setUp()
        image = make_item(images=[png_bytes("red")]).images.get()
        self.url = reverse("media", args=[image.file.name])

    def test_the_api_token_fetches_the_image(self) -> None:
        token = Token.objects.create(user=self.teacher)
        r = self.client.get(self.url, HTTP_AUTHORIZATION=f"Token {token.key}")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], "image/png")

    def test_a_wrong_token_is_401_not_a_login_page(self) -> None:
        r = self.client.get(self.url, HTTP_AUTHORIZATION="Token not-a-token")
        self.assertEqual(r.status_code, 401)
        self.assertIn("Token", r["WWW-Authenticate"])

    def test_a_deactivated_users_token_is_refused(self) -> None:
        token = Token.objects.create(user=self.reviewer)
        type(self.reviewer).objects.filter(pk=self.reviewer.pk).update(is_active=False)
        r = self.client.get(self.url, HTTP_AUTHORIZATION=f"Token {token.key}")
        self.assertEqual(r.status_code, 401)

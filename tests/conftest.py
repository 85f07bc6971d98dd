"""Shared fixtures: shops, users of each role, signed-in admin clients."""

from __future__ import annotations

# CPython 3.11.7's AST constructor keeps its recursion depth in interpreter-wide state, so two threads
# parsing at once can fail with "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905). Hypothesis is a pytest plugin, so pytest's assertion rewriting parses its modules
# when they are first imported, and ``st.from_regex`` imports its regex module lazily, during a test,
# while the fake LINE server's threads run. Importing them once collection is done (no test and no
# thread has started yet) keeps that parse out of the tests (it failed CI once in
# tests/loyalty/test_phones.py). These are the Hypothesis modules the suite imported lazily
# (sys.modules after collection vs at the end). Not at conftest import: Hypothesis warns about
# plugin-time side effects there.
import pytest
from django.conf import settings
from django.utils import translation

from shops.models import User
from tests.factories import ShopFactory, UserFactory


def pytest_collection_finish(session):
    import hypothesis.internal.conjecture.optimiser
    import hypothesis.strategies._internal.random
    import hypothesis.strategies._internal.regex  # noqa: F401


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    """Uploaded files go to a per-test folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_axes_lockout_between_tests(settings):
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's million rounds are the point in production and a third of the suite's CPU here;
    what the tests check (who may sign in) does not depend on the hash's cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop(db):
    return ShopFactory(name="Shop A", slug="shop-a")


@pytest.fixture
def other_shop(db):
    return ShopFactory(name="SHOP-B-SECRET", slug="shop-b")


@pytest.fixture
def owner(shop):
    return UserFactory(username="owner-a", shop=shop, role=User.Role.OWNER)


@pytest.fixture
def manager(shop):
    return UserFactory(username="manager-a", shop=shop, role=User.Role.MANAGER)


@pytest.fixture
def cashier(shop):
    return UserFactory(username="cashier-a", shop=shop, role=User.Role.CASHIER)


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", shop=None, role="", is_superuser=True, is_staff=True)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture(autouse=True)
def _no_language_leaks():
    """Each test starts and ends with no language activated, so a test's outcome never depends on
    which test ran before it in the same worker (requests activate their own language)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def english(settings):
    """Requests in English (the default for the site is Thai)."""
    settings.LANGUAGE_CODE = "en"
    return settings


def admin_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


__all__ = ["admin_messages", "settings"]

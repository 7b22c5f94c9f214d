"""`warm_up` loads, before a worker takes its first job, what that job would otherwise load while a chef waits.

Run in a fresh interpreter: in the test process everything is imported already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from sqlalchemy.orm import Session, sessionmaker

from tests import factories as f

PROBE = textwrap.dedent(
    """
    import json, sys
    from chat2order.config import Settings
    from chat2order.parsing import units
    from chat2order.runtime import Runtime
    from chat2order.worker import WARM_MODULES, warm_up

    before = [name for name in WARM_MODULES if name in sys.modules]
    rt = Runtime.from_settings(Settings.from_env())
    warm_up(rt)
    print(json.dumps({
        "before": before,
        "after": [name for name in WARM_MODULES if name in sys.modules],
        "pint_registry": units.registry.cache_info().currsize,
        "parser": "chat2order.parsing.parser" in sys.modules,
        "indexes": len(rt.contexts._indexes),
    }))
    """
)


def test_warm_up_loads_the_indexes_parser_and_modules_of_the_first_job(
    sqlite_url: str, sqlite_sessionmaker: sessionmaker[Session]
) -> None:
    for locale in ("pt-PT", "fr-FR"):
        supplier = f.SupplierFactory(locale=locale, currency="EUR")
        f.CatalogItemFactory.create_batch(3, supplier=supplier)
    f.RestaurantFactory(locale="it-IT")
    env = {**os.environ, "DATABASE_URL": sqlite_url, "REDIS_URL": "", "LOG_FORMAT": "text"}

    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert "warm-up incomplete" not in done.stderr, done.stderr
    state = json.loads(done.stdout.splitlines()[-1])
    from chat2order.worker import WARM_MODULES

    assert state["before"] == [] and state["after"] == list(WARM_MODULES)
    assert state["pint_registry"] == 1 and state["parser"]
    assert state["indexes"] == 2

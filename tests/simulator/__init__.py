"""A local fake of the Trend Vision One v3.0 API for tests, `make demo` and benchmarks.

``Simulator`` serves seeded data for every read endpoint of the tap (``PATHS``: stream name -> API path)
over real HTTP on 127.0.0.1 with the API's paths, headers,
paging, filters, error bodies, rate limit and injectable faults; ``python -m tests.simulator`` runs it
from the command line (and ``... count`` prints how many detections a range holds). The same server
also plays the Workvivo SIEM API under ``/v1/siem/{from}/{to}`` (:mod:`tests.simulator.workvivo`), and
the response-action and write endpoints pytmv1 uses (:mod:`tests.simulator.routes`: 207 batches, tasks,
sandbox, custom scripts, API keys, threat-intel lists, workbench alert status and notes), with state kept
per simulator (:mod:`tests.simulator.live`).
"""

from tests.simulator.data import Dataset
from tests.simulator.query import QueryError, parse
from tests.simulator.server import Simulator, SimulatorConfig
from tests.simulator.world import PATHS, WINDOW_FIELDS

__all__ = ["PATHS", "WINDOW_FIELDS", "Dataset", "QueryError", "Simulator", "SimulatorConfig", "parse"]

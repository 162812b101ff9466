"""Error reporting: publish ErrorReports with signature dedup, from code, from logging, from the CLI.

async with open_bus(settings) as bus:
    published = await publish_report(bus, build_report("KeyError: 'user_id'", file="app.py", line=3))
logging.getLogger().addHandler(NatsErrorHandler(settings, env="production", service="checkout"))
"""

from swarm.reporting.handler import NatsErrorHandler
from swarm.reporting.reporter import Published, build_report, publish_report, report_from_exception

__all__ = ["NatsErrorHandler", "Published", "build_report", "publish_report", "report_from_exception"]

# ruff: noqa: E501  (the embedded repository sources are data, kept as their authors would write them)
"""Review 5 (2026-12-02): eight regressions written by a reviewer who did not read the engine; run once blind
(right suspect 5/8, passing fix 1/8 at 228553a), then read and built against: a dev split now, not held out."""

from __future__ import annotations

from tests.holdout.fixes.gitrepo import Commit, Spec

# ---------------------------------------------------------------------------------------------------------------
# R01: a typo in a JSON fixture embedded in code ("10.00" instead of "10:00"), latent until a Saturday is asked for
# ---------------------------------------------------------------------------------------------------------------

_STORES_HOURS_V0 = r'''
    DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


    def to_minutes(text):
        hours, minutes = text.strip().split(":")
        return int(hours) * 60 + int(minutes)


    def parse_range(spec):
        start, end = spec.split("-")
        return to_minutes(start), to_minutes(end)


    def is_open(hours, when):
        spec = hours.get(DAYS[when.weekday()])
        if not spec:
            return False
        start, end = parse_range(spec)
        return start <= when.hour * 60 + when.minute < end
'''

_STORES_HOURS_V1 = r'''
    DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


    def to_minutes(text):
        hours, minutes = text.strip().split(":")
        return int(hours) * 60 + int(minutes)


    def parse_ranges(spec):
        ranges = []
        for part in spec.split(","):
            start, end = part.split("-")
            ranges.append((to_minutes(start), to_minutes(end)))
        return ranges


    def is_open(hours, when):
        spec = hours.get(DAYS[when.weekday()])
        if not spec:
            return False
        minute = when.hour * 60 + when.minute
        return any(start <= minute < end for start, end in parse_ranges(spec))
'''

R01 = Spec(
    name="r12_store_hours_fixture_typo",
    tier="review5",
    kind="bad entry in a JSON fixture embedded in code (Saturday hours typed '10.00-13.00')",
    hard="ValueError raised in hours.py (to_minutes), the bad data is in data.py; only Saturdays walk that entry, "
         "the failing test came two commits later; a later commit rewrote every store line (adds city), so revert conflicts",
    service="store-locator",
    commits=[
        Commit(
            "stores: opening hours and an open-now finder",
            {
                "stores/__init__.py": "",
                "stores/data.py": r'''
                    import json

                    STORES_JSON = """
                    [
                      {"id": "lis-1", "name": "Lisboa Baixa", "hours": {"mon": "09:00-19:00", "tue": "09:00-19:00", "wed": "09:00-19:00", "thu": "09:00-19:00", "fri": "09:00-20:00", "sat": "10:00-18:00"}},
                      {"id": "lis-2", "name": "Lisboa Alvalade", "hours": {"mon": "10:00-20:00", "tue": "10:00-20:00", "wed": "10:00-20:00", "thu": "10:00-20:00", "fri": "10:00-20:00", "sat": "10:00-13:00"}}
                    ]
                    """

                    STORES = json.loads(STORES_JSON)


                    def get(store_id):
                        for store in STORES:
                            if store["id"] == store_id:
                                return store
                        raise LookupError(f"unknown store {store_id!r}")
                ''',
                "stores/hours.py": _STORES_HOURS_V0,
                "stores/finder.py": r'''
                    from stores.data import STORES
                    from stores.hours import is_open


                    def open_stores(when):
                        return [store["name"] for store in STORES if is_open(store["hours"], when)]
                ''',
                "tests/test_hours.py": r'''
                    from datetime import datetime

                    from stores.hours import is_open, parse_range, to_minutes

                    HOURS = {"mon": "09:00-18:00", "sat": "10:00-13:00"}


                    def test_to_minutes():
                        assert to_minutes("09:30") == 570


                    def test_parse_range():
                        assert parse_range("10:00-13:00") == (600, 780)


                    def test_open_on_monday_morning():
                        assert is_open(HOURS, datetime(2024, 6, 3, 9, 0))


                    def test_closed_at_closing_time():
                        assert not is_open(HOURS, datetime(2024, 6, 3, 18, 0))


                    def test_closed_on_sunday():
                        assert not is_open(HOURS, datetime(2024, 6, 2, 12, 0))
                ''',
                "tests/test_finder.py": r'''
                    from datetime import datetime

                    from stores.finder import open_stores


                    def test_weekday_evening():
                        assert open_stores(datetime(2024, 6, 4, 19, 30)) == ["Lisboa Alvalade"]
                ''',
            },
        ),
        Commit(
            "hours: split shifts (closed over lunch)",
            {
                "stores/hours.py": _STORES_HOURS_V1,
                "tests/test_hours.py": r'''
                    from datetime import datetime

                    from stores.hours import is_open, parse_ranges, to_minutes

                    HOURS = {"mon": "09:00-18:00", "tue": "09:00-12:30,14:00-18:00", "sat": "10:00-13:00"}


                    def test_to_minutes():
                        assert to_minutes("09:30") == 570


                    def test_parse_ranges():
                        assert parse_ranges("09:00-12:30,14:00-18:00") == [(540, 750), (840, 1080)]


                    def test_open_on_monday_morning():
                        assert is_open(HOURS, datetime(2024, 6, 3, 9, 0))


                    def test_closed_at_closing_time():
                        assert not is_open(HOURS, datetime(2024, 6, 3, 18, 0))


                    def test_closed_over_lunch():
                        assert not is_open(HOURS, datetime(2024, 6, 4, 13, 0))
                        assert is_open(HOURS, datetime(2024, 6, 4, 14, 0))


                    def test_closed_on_sunday():
                        assert not is_open(HOURS, datetime(2024, 6, 2, 12, 0))
                ''',
            },
        ),
        Commit(
            "finder: next opening time of a store",
            {
                "stores/finder.py": r'''
                    from datetime import timedelta

                    from stores.data import STORES, get
                    from stores.hours import DAYS, is_open, parse_ranges


                    def open_stores(when):
                        return [store["name"] for store in STORES if is_open(store["hours"], when)]


                    def next_opening(store_id, when):
                        hours = get(store_id)["hours"]
                        day = when.replace(hour=0, minute=0, second=0, microsecond=0)
                        for offset in range(8):
                            current = day + timedelta(days=offset)
                            spec = hours.get(DAYS[current.weekday()])
                            if not spec:
                                continue
                            for start, _end in parse_ranges(spec):
                                opening = current + timedelta(minutes=start)
                                if opening > when:
                                    return opening
                        return None
                ''',
            },
            edits=(
                ("tests/test_finder.py", "from stores.finder import open_stores\n",
                 "from stores.finder import next_opening, open_stores\n"),
                ("tests/test_finder.py", '== ["Lisboa Alvalade"]\n',
                 '== ["Lisboa Alvalade"]\n\n\ndef test_next_opening_skips_sunday():\n'
                 '    assert next_opening("lis-2", datetime(2024, 6, 1, 14, 0)) == datetime(2024, 6, 3, 10, 0)\n'),
            ),
        ),
        Commit(
            "data: Porto, Braga and Faro stores from the operations sheet",
            edits=(
                ("stores/data.py",
                 '"fri": "10:00-20:00", "sat": "10:00-13:00"}}\n]\n',
                 '"fri": "10:00-20:00", "sat": "10:00-13:00"}},\n'
                 '  {"id": "por-1", "name": "Porto Bolhao", "hours": {"mon": "09:00-13:00,14:30-19:00", "tue": "09:00-13:00,14:30-19:00", "wed": "09:00-13:00,14:30-19:00", "thu": "09:00-13:00,14:30-19:00", "fri": "09:00-13:00,14:30-19:00", "sat": "10:00-13:00"}},\n'
                 '  {"id": "bra-1", "name": "Braga Centro", "hours": {"mon": "09:30-19:30", "tue": "09:30-19:30", "wed": "09:30-19:30", "thu": "09:30-19:30", "fri": "09:30-19:30", "sat": "10.00-13.00"}},\n'
                 '  {"id": "fao-1", "name": "Faro Forum", "hours": {"mon": "10:00-22:00", "tue": "10:00-22:00", "wed": "10:00-22:00", "thu": "10:00-22:00", "fri": "10:00-22:00", "sat": "10:00-22:00", "sun": "10:00-20:00"}}\n'
                 ']\n'),
                ("tests/test_finder.py", '== ["Lisboa Alvalade"]\n',
                 '== ["Lisboa Alvalade", "Faro Forum"]\n\n\ndef test_porto_closes_for_lunch():\n'
                 '    assert "Porto Bolhao" not in open_stores(datetime(2024, 6, 4, 13, 30))\n'
                 '    assert "Braga Centro" in open_stores(datetime(2024, 6, 4, 13, 30))\n'),
            ),
        ),
        Commit(
            "data: city of every store; finder: open stores in a city",
            {
                "stores/data.py": r'''
                    import json

                    STORES_JSON = """
                    [
                      {"id": "lis-1", "name": "Lisboa Baixa", "city": "Lisboa", "hours": {"mon": "09:00-19:00", "tue": "09:00-19:00", "wed": "09:00-19:00", "thu": "09:00-19:00", "fri": "09:00-20:00", "sat": "10:00-18:00"}},
                      {"id": "lis-2", "name": "Lisboa Alvalade", "city": "Lisboa", "hours": {"mon": "10:00-20:00", "tue": "10:00-20:00", "wed": "10:00-20:00", "thu": "10:00-20:00", "fri": "10:00-20:00", "sat": "10:00-13:00"}},
                      {"id": "por-1", "name": "Porto Bolhao", "city": "Porto", "hours": {"mon": "09:00-13:00,14:30-19:00", "tue": "09:00-13:00,14:30-19:00", "wed": "09:00-13:00,14:30-19:00", "thu": "09:00-13:00,14:30-19:00", "fri": "09:00-13:00,14:30-19:00", "sat": "10:00-13:00"}},
                      {"id": "bra-1", "name": "Braga Centro", "city": "Braga", "hours": {"mon": "09:30-19:30", "tue": "09:30-19:30", "wed": "09:30-19:30", "thu": "09:30-19:30", "fri": "09:30-19:30", "sat": "10.00-13.00"}},
                      {"id": "fao-1", "name": "Faro Forum", "city": "Faro", "hours": {"mon": "10:00-22:00", "tue": "10:00-22:00", "wed": "10:00-22:00", "thu": "10:00-22:00", "fri": "10:00-22:00", "sat": "10:00-22:00", "sun": "10:00-20:00"}}
                    ]
                    """

                    STORES = json.loads(STORES_JSON)


                    def get(store_id):
                        for store in STORES:
                            if store["id"] == store_id:
                                return store
                        raise LookupError(f"unknown store {store_id!r}")


                    def cities():
                        return sorted({store["city"] for store in STORES})
                ''',
            },
            edits=(
                ("stores/finder.py", "\n\ndef next_opening(store_id, when):\n",
                 '\n\ndef open_in_city(city, when):\n'
                 '    return [store["name"] for store in STORES if store["city"] == city and is_open(store["hours"], when)]\n'
                 "\n\ndef next_opening(store_id, when):\n"),
                ("tests/test_finder.py", "from stores.finder import next_opening, open_stores\n",
                 "from stores.data import cities\nfrom stores.finder import next_opening, open_in_city, open_stores\n"),
                ("tests/test_finder.py", "def test_porto_closes_for_lunch():\n",
                 "def test_cities():\n    assert cities() == [\"Braga\", \"Faro\", \"Lisboa\", \"Porto\"]\n\n\n"
                 "def test_open_in_city():\n"
                 "    assert open_in_city(\"Lisboa\", datetime(2024, 6, 4, 19, 30)) == [\"Lisboa Alvalade\"]\n"
                 "    assert open_in_city(\"Faro\", datetime(2024, 6, 4, 21, 0)) == [\"Faro Forum\"]\n\n\n"
                 "def test_porto_closes_for_lunch():\n"),
            ),
        ),
        Commit(
            "finder: weekend tests (Saturday mornings, Sunday in Faro)",
            edits=(
                ("tests/test_finder.py", "def test_next_opening_skips_sunday():\n",
                 "def test_saturday_morning():\n"
                 "    assert open_stores(datetime(2024, 6, 1, 11, 0)) == [\n"
                 "        \"Lisboa Baixa\", \"Lisboa Alvalade\", \"Porto Bolhao\", \"Braga Centro\", \"Faro Forum\"]\n\n\n"
                 "def test_only_faro_on_sunday():\n"
                 "    assert open_stores(datetime(2024, 6, 2, 12, 0)) == [\"Faro Forum\"]\n\n\n"
                 "def test_next_opening_skips_sunday():\n"),
            ),
        ),
    ],
    suspect=3,
    repro="from datetime import datetime\nfrom stores.finder import open_stores\nprint(open_stores(datetime(2024, 6, 8, 11, 15)))\n",
    fix=[("stores/data.py", '"sat": "10.00-13.00"', '"sat": "10:00-13:00"')],
    must_keep=[("stores/data.py", '"Braga Centro"'), ("stores/data.py", '"city": "Faro"'),
               ("stores/finder.py", "def open_in_city("), ("stores/hours.py", 'spec.split(",")')],
)

# ---------------------------------------------------------------------------------------------------------------
# R02: the base class gains state in __init__; a subclass with its own __init__ never calls super().__init__()
# ---------------------------------------------------------------------------------------------------------------

R02 = Spec(
    name="r12_subclass_skips_base_init",
    tier="review5",
    kind="class hierarchy: base class now sets its state in __init__, a subclass's own __init__ does not call super().__init__()",
    hard="AttributeError raised in exporters.py (Exporter.add), the fix belongs in sage.py which the regressing commit did not touch; "
         "later commits use the running totals and edit SageExporter.__init__",
    service="payroll-export",
    commits=[
        Commit(
            "payroll: CSV export of payslips",
            {
                "payroll/__init__.py": "",
                "payroll/exporters.py": r'''
                    class Exporter:
                        header = ""

                        def format_row(self, row):
                            raise NotImplementedError

                        def render(self, rows):
                            lines = [self.header] if self.header else []
                            lines.extend(self.format_row(row) for row in rows)
                            return "\n".join(lines) + "\n"


                    class CsvExporter(Exporter):
                        header = "employee,gross,tax,net"

                        def format_row(self, row):
                            net = row["gross"] - row["tax"]
                            return f'{row["employee"]},{row["gross"]},{row["tax"]},{net}'
                ''',
                "payroll/run.py": r'''
                    from payroll.exporters import CsvExporter

                    EXPORTERS = {"csv": CsvExporter}


                    def export(kind, rows, **options):
                        exporter = EXPORTERS[kind](**options)
                        return exporter.render(rows)
                ''',
                "tests/test_export.py": r'''
                    from payroll.run import export

                    ROWS = [
                        {"employee": "E1001", "gross": 250000, "tax": 45000},
                        {"employee": "E1002", "gross": 310000, "tax": 62000},
                    ]


                    def test_csv():
                        assert export("csv", ROWS) == (
                            "employee,gross,tax,net\n"
                            "E1001,250000,45000,205000\n"
                            "E1002,310000,62000,248000\n"
                        )
                ''',
            },
        ),
        Commit(
            "payroll: Sage fixed-width export for the accountants",
            {
                "payroll/sage.py": r'''
                    from payroll.exporters import Exporter


                    class SageExporter(Exporter):
                        def __init__(self, company_code):
                            self.company_code = company_code

                        def format_row(self, row):
                            net = row["gross"] - row["tax"]
                            return f'{self.company_code:<6}{row["employee"]:<10}{row["gross"]:>10}{net:>10}'
                ''',
            },
            edits=(
                ("payroll/run.py", "from payroll.exporters import CsvExporter\n\nEXPORTERS = {\"csv\": CsvExporter}\n",
                 "from payroll.exporters import CsvExporter\nfrom payroll.sage import SageExporter\n\n"
                 "EXPORTERS = {\"csv\": CsvExporter, \"sage\": SageExporter}\n"),
                ("tests/test_export.py", "\n\ndef test_csv():\n",
                 "\n\ndef test_sage():\n"
                 "    assert export(\"sage\", ROWS, company_code=\"ACME\").splitlines() == [\n"
                 "        \"ACME  E1001         250000    205000\",\n"
                 "        \"ACME  E1002         310000    248000\",\n"
                 "    ]\n"
                 "\n\ndef test_csv():\n"),
            ),
        ),
        Commit(
            "run: a clear error for an unknown export kind",
            edits=(
                ("payroll/run.py", "    exporter = EXPORTERS[kind](**options)\n",
                 "    if kind not in EXPORTERS:\n"
                 "        raise ValueError(f\"unknown export {kind!r}, expected one of {sorted(EXPORTERS)}\")\n"
                 "    exporter = EXPORTERS[kind](**options)\n"),
                ("tests/test_export.py", "from payroll.run import export\n",
                 "import pytest\n\nfrom payroll.run import export\n"),
                ("tests/test_export.py", "\n\ndef test_csv():\n",
                 "\n\ndef test_unknown_kind():\n"
                 "    with pytest.raises(ValueError, match=\"unknown export 'xls'\"):\n"
                 "        export(\"xls\", ROWS)\n"
                 "\n\ndef test_csv():\n"),
            ),
        ),
        Commit(
            "sage: employee ids trimmed to the 10-character column",
            edits=(
                ("payroll/sage.py", '{row["employee"]:<10}', '{row["employee"][:10]:<10}'),
                ("tests/test_export.py", "\n\ndef test_unknown_kind():\n",
                 "\n\ndef test_sage_trims_long_ids():\n"
                 "    row = {\"employee\": \"CONTRACTOR-77\", \"gross\": 1000, \"tax\": 0}\n"
                 "    assert export(\"sage\", [row], company_code=\"ACME\") == \"ACME  CONTRACTOR      1000      1000\\n\"\n"
                 "\n\ndef test_unknown_kind():\n"),
            ),
        ),
        Commit(
            "exporters: add rows one at a time, keep running totals",
            {
                "payroll/exporters.py": r'''
                    class Exporter:
                        header = ""

                        def __init__(self):
                            self.rows = []
                            self.totals = {"gross": 0, "tax": 0}

                        def add(self, row):
                            self.rows.append(row)
                            self.totals["gross"] += row["gross"]
                            self.totals["tax"] += row["tax"]

                        def format_row(self, row):
                            raise NotImplementedError

                        def render(self):
                            lines = [self.header] if self.header else []
                            lines.extend(self.format_row(row) for row in self.rows)
                            return "\n".join(lines) + "\n"


                    class CsvExporter(Exporter):
                        header = "employee,gross,tax,net"

                        def format_row(self, row):
                            net = row["gross"] - row["tax"]
                            return f'{row["employee"]},{row["gross"]},{row["tax"]},{net}'
                ''',
            },
            edits=(
                ("payroll/run.py", "    return exporter.render(rows)\n",
                 "    for row in rows:\n        exporter.add(row)\n    return exporter.render()\n"),
                ("tests/test_export.py", "from payroll.run import export\n",
                 "from payroll.exporters import CsvExporter\nfrom payroll.run import export\n"),
                ("tests/test_export.py", "\n\ndef test_csv():\n",
                 "\n\ndef test_running_totals():\n"
                 "    exporter = CsvExporter()\n"
                 "    for row in ROWS:\n"
                 "        exporter.add(row)\n"
                 "    assert exporter.totals == {\"gross\": 560000, \"tax\": 107000}\n"
                 "\n\ndef test_csv():\n"),
            ),
        ),
        Commit(
            "csv: totals line at the end of the file",
            edits=(
                ("payroll/exporters.py", "        return f'{row[\"employee\"]},{row[\"gross\"]},{row[\"tax\"]},{net}'\n",
                 "        return f'{row[\"employee\"]},{row[\"gross\"]},{row[\"tax\"]},{net}'\n\n"
                 "    def render(self):\n"
                 "        net = self.totals[\"gross\"] - self.totals[\"tax\"]\n"
                 "        return super().render() + f'TOTAL,{self.totals[\"gross\"]},{self.totals[\"tax\"]},{net}\\n'\n"),
                ("tests/test_export.py", "        \"E1002,310000,62000,248000\\n\"\n",
                 "        \"E1002,310000,62000,248000\\n\"\n        \"TOTAL,560000,107000,453000\\n\"\n"),
            ),
        ),
        Commit(
            "sage: reject company codes longer than the 6-character column",
            edits=(
                ("payroll/sage.py", "    def __init__(self, company_code):\n",
                 "    def __init__(self, company_code):\n"
                 "        if len(company_code) > 6:\n"
                 "            raise ValueError(f\"company code {company_code!r} is longer than 6 characters\")\n"),
                ("tests/test_export.py", "\n\ndef test_unknown_kind():\n",
                 "\n\ndef test_sage_company_code_too_long():\n"
                 "    with pytest.raises(ValueError, match=\"longer than 6\"):\n"
                 "        export(\"sage\", ROWS, company_code=\"ACME-IBERIA\")\n"
                 "\n\ndef test_unknown_kind():\n"),
            ),
        ),
    ],
    suspect=4,
    repro='from payroll.run import export\nprint(export("sage", [{"employee": "E1042", "gross": 320000, "tax": 61200}], company_code="ACME"))\n',
    fix=[("payroll/sage.py", "    def __init__(self, company_code):\n", "    def __init__(self, company_code):\n        super().__init__()\n")],
    must_keep=[("payroll/exporters.py", "def add(self, row)"), ("payroll/exporters.py", "TOTAL,"),
               ("payroll/sage.py", "len(company_code) > 6")],
)

# ---------------------------------------------------------------------------------------------------------------
# R03: 12-hour time support strips a suffix that 24-hour times do not have
# ---------------------------------------------------------------------------------------------------------------

R03 = Spec(
    name="r12_ampm_suffix_always_stripped",
    tier="review5",
    kind="string parsing: 12-hour support cuts the ' AM'/' PM' suffix off every time, 24-hour times lose their minutes (IndexError)",
    hard="the regression is the second commit; three later commits build on the new parser (noon/midnight words, "
         "overtime from PM times, a shift-length check), one of them edits the same function; the failing tests predate it",
    service="timesheets",
    commits=[
        Commit(
            "timesheet: worked minutes from clock-in and clock-out punches",
            {
                "timesheet/__init__.py": "",
                "timesheet/clock.py": r'''
                    def parse_time(text):
                        hour, minute = text.strip().split(":")
                        hour, minute = int(hour), int(minute)
                        if not (0 <= hour < 24 and 0 <= minute < 60):
                            raise ValueError(f"bad time {text!r}")
                        return hour * 60 + minute
                ''',
                "timesheet/entries.py": r'''
                    from timesheet.clock import parse_time


                    def worked(entry):
                        start, end = parse_time(entry["in"]), parse_time(entry["out"])
                        if end < start:  # night shift past midnight
                            end += 24 * 60
                        return end - start - entry.get("break", 0)
                ''',
                "timesheet/summary.py": r'''
                    from timesheet.entries import worked


                    def weekly_minutes(entries):
                        return sum(worked(entry) for entry in entries)
                ''',
                "tests/test_clock.py": r'''
                    import pytest

                    from timesheet.clock import parse_time


                    def test_24_hour_times():
                        assert parse_time("08:30") == 510
                        assert parse_time(" 17:05 ") == 1025


                    def test_bad_time():
                        with pytest.raises(ValueError):
                            parse_time("25:00")
                ''',
                "tests/test_summary.py": r'''
                    from timesheet.summary import weekly_minutes


                    def test_week_with_breaks():
                        day = {"in": "08:00", "out": "16:30", "break": 30}
                        assert weekly_minutes([day] * 5) == 2400


                    def test_night_shift():
                        assert weekly_minutes([{"in": "22:00", "out": "06:00"}]) == 480
                ''',
            },
        ),
        Commit(
            "clock: accept 12-hour times from the kiosk app (9:05 PM)",
            {
                "timesheet/clock.py": r'''
                    def parse_time(text):
                        text = text.strip().upper()
                        suffix = text[-2:]
                        parts = text[:-3].split(":")
                        hour, minute = int(parts[0]), int(parts[1])
                        if suffix == "PM" and hour != 12:
                            hour += 12
                        elif suffix == "AM" and hour == 12:
                            hour = 0
                        if not (0 <= hour < 24 and 0 <= minute < 60):
                            raise ValueError(f"bad time {text!r}")
                        return hour * 60 + minute
                ''',
            },
            edits=(
                ("tests/test_clock.py", "\n\ndef test_bad_time():\n",
                 "\n\ndef test_12_hour_times():\n"
                 "    assert parse_time(\"9:05 PM\") == 1265\n"
                 "    assert parse_time(\"12:15 am\") == 15\n"
                 "    assert parse_time(\"12:40 PM\") == 760\n"
                 "\n\ndef test_bad_time():\n"),
            ),
        ),
        Commit(
            "summary: overtime beyond 40 hours a week",
            edits=(
                ("timesheet/summary.py", "from timesheet.entries import worked\n",
                 "from timesheet.entries import worked\n\nWEEKLY_LIMIT = 40 * 60\n"),
                ("timesheet/summary.py", "    return sum(worked(entry) for entry in entries)\n",
                 "    return sum(worked(entry) for entry in entries)\n\n\n"
                 "def overtime(entries):\n    return max(0, weekly_minutes(entries) - WEEKLY_LIMIT)\n"),
                ("tests/test_summary.py", "from timesheet.summary import weekly_minutes\n",
                 "from timesheet.summary import overtime, weekly_minutes\n"),
                ("tests/test_summary.py", "\n\ndef test_night_shift():\n",
                 "\n\ndef test_overtime_from_kiosk_times():\n"
                 "    day = {\"in\": \"8:00 AM\", \"out\": \"6:30 PM\", \"break\": 30}\n"
                 "    assert overtime([day] * 5) == 600\n"
                 "\n\ndef test_no_overtime():\n"
                 "    assert overtime([{\"in\": \"9:00 AM\", \"out\": \"5:00 PM\"}] * 4) == 0\n"
                 "\n\ndef test_night_shift():\n"),
            ),
        ),
        Commit(
            "clock: 'noon' and 'midnight' from the kiosk's voice input",
            edits=(
                ("timesheet/clock.py", "    text = text.strip().upper()\n",
                 "    text = text.strip().upper()\n"
                 "    if text in NAMED:\n"
                 "        return NAMED[text]\n"),
                ("timesheet/clock.py", "def parse_time(text):\n",
                 "NAMED = {\"NOON\": 12 * 60, \"MIDNIGHT\": 0}\n\n\ndef parse_time(text):\n"),
                ("tests/test_clock.py", "\n\ndef test_bad_time():\n",
                 "\n\ndef test_named_times():\n"
                 "    assert parse_time(\"noon\") == 720\n"
                 "    assert parse_time(\"Midnight\") == 0\n"
                 "\n\ndef test_bad_time():\n"),
            ),
        ),
        Commit(
            "entries: refuse shifts longer than 16 hours (a forgotten clock-out)",
            edits=(
                ("timesheet/entries.py", "        end += 24 * 60\n",
                 "        end += 24 * 60\n"
                 "    if end - start > MAX_SHIFT:\n"
                 "        raise ValueError(f\"shift of {end - start} minutes, was a clock-out forgotten?\")\n"),
                ("timesheet/entries.py", "from timesheet.clock import parse_time\n",
                 "from timesheet.clock import parse_time\n\nMAX_SHIFT = 16 * 60\n"),
                ("tests/test_summary.py", "from timesheet.summary import overtime, weekly_minutes\n",
                 "import pytest\n\nfrom timesheet.summary import overtime, weekly_minutes\n"),
                ("tests/test_summary.py", "\n\ndef test_night_shift():\n",
                 "\n\ndef test_forgotten_clock_out():\n"
                 "    with pytest.raises(ValueError, match=\"forgotten\"):\n"
                 "        weekly_minutes([{\"in\": \"7:00 AM\", \"out\": \"noon\"}, {\"in\": \"6:00 AM\", \"out\": \"11:30 PM\"}])\n"
                 "\n\ndef test_night_shift():\n"),
            ),
        ),
    ],
    suspect=1,
    repro='from timesheet.summary import weekly_minutes\nprint(weekly_minutes([{"in": "07:45", "out": "16:15", "break": 30}, {"in": "22:00", "out": "06:00"}]))\n',
    fix=[("timesheet/clock.py", "    suffix = text[-2:]\n    parts = text[:-3].split(\":\")\n",
          "    suffix = text[-2:] if text.endswith((\"AM\", \"PM\")) else \"\"\n"
          "    parts = (text[:-3] if suffix else text).split(\":\")\n")],
    must_keep=[("timesheet/clock.py", '"PM"'), ("timesheet/clock.py", '"MIDNIGHT"'),
               ("timesheet/summary.py", "WEEKLY_LIMIT"), ("timesheet/entries.py", "MAX_SHIFT")],
)

# ---------------------------------------------------------------------------------------------------------------
# R04: deleting from a dict while iterating over it (session purge rewritten to call an expiry hook)
# ---------------------------------------------------------------------------------------------------------------

R04 = Spec(
    name="r12_dict_deleted_while_iterating",
    tier="review5",
    kind="collections: entries deleted from a dict while iterating over its items() (RuntimeError)",
    hard="the crash surfaces on a login (auth.py -> store.create -> purge) as soon as one session has expired; "
         "the same commit adds the per-user limit and the on_expire hook, which later commits and tests use",
    service="auth-sessions",
    commits=[
        Commit(
            "sessions: in-memory store with expiry",
            {
                "sessions/__init__.py": "",
                "sessions/store.py": r'''
                    import secrets
                    from dataclasses import dataclass


                    @dataclass
                    class Session:
                        user: str
                        expires_at: float


                    class SessionStore:
                        def __init__(self, ttl=1800):
                            self.ttl = ttl
                            self._sessions = {}

                        def create(self, user, now):
                            sid = secrets.token_hex(8)
                            self._sessions[sid] = Session(user, now + self.ttl)
                            return sid

                        def get(self, sid, now):
                            session = self._sessions.get(sid)
                            if session is None or session.expires_at <= now:
                                return None
                            return session

                        def purge(self, now):
                            expired = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
                            for sid in expired:
                                del self._sessions[sid]
                            return len(expired)

                        def __len__(self):
                            return len(self._sessions)
                ''',
                "sessions/auth.py": r'''
                    from sessions.store import SessionStore

                    USERS = {"ana": "pa55", "ben": "hunter2", "chen": "correct horse"}


                    class Auth:
                        def __init__(self, store=None):
                            self.store = store or SessionStore()

                        def login(self, user, password, now):
                            if USERS.get(user) != password:
                                raise PermissionError(f"bad credentials for {user!r}")
                            return self.store.create(user, now)

                        def whoami(self, sid, now):
                            session = self.store.get(sid, now)
                            return session.user if session else None
                ''',
                "tests/test_store.py": r'''
                    from sessions.store import SessionStore


                    def test_get_until_expiry():
                        store = SessionStore(ttl=100)
                        sid = store.create("ana", now=0)
                        assert store.get(sid, now=99).user == "ana"
                        assert store.get(sid, now=100) is None


                    def test_purge_removes_only_expired():
                        store = SessionStore(ttl=1800)
                        store.create("ana", now=0)
                        store.create("ben", now=1000)
                        assert store.purge(now=1900) == 1
                        assert len(store) == 1
                ''',
                "tests/test_auth.py": r'''
                    import pytest

                    from sessions.auth import Auth


                    def test_login_and_whoami():
                        auth = Auth()
                        sid = auth.login("ana", "pa55", now=0)
                        assert auth.whoami(sid, now=10) == "ana"


                    def test_bad_password():
                        with pytest.raises(PermissionError):
                            Auth().login("ana", "nope", now=0)
                ''',
            },
        ),
        Commit(
            "auth: logout",
            edits=(
                ("sessions/store.py", "    def purge(self, now):\n",
                 "    def drop(self, sid):\n        self._sessions.pop(sid, None)\n\n    def purge(self, now):\n"),
                ("sessions/auth.py", "    def whoami(self, sid, now):\n",
                 "    def logout(self, sid):\n        self.store.drop(sid)\n\n    def whoami(self, sid, now):\n"),
                ("tests/test_auth.py", "\n\ndef test_bad_password():\n",
                 "\n\ndef test_logout():\n"
                 "    auth = Auth()\n"
                 "    sid = auth.login(\"ben\", \"hunter2\", now=0)\n"
                 "    auth.logout(sid)\n"
                 "    assert auth.whoami(sid, now=1) is None\n"
                 "\n\ndef test_bad_password():\n"),
            ),
        ),
        Commit(
            "store: at most 3 sessions per user, expired ones purged on login, on_expire hook",
            edits=(
                ("sessions/store.py",
                 "    def __init__(self, ttl=1800):\n        self.ttl = ttl\n        self._sessions = {}\n",
                 "    def __init__(self, ttl=1800, per_user=3, on_expire=None):\n"
                 "        self.ttl = ttl\n"
                 "        self.per_user = per_user\n"
                 "        self.on_expire = on_expire or (lambda session: None)\n"
                 "        self._sessions = {}\n"),
                ("sessions/store.py", "    def create(self, user, now):\n",
                 "    def create(self, user, now):\n"
                 "        self.purge(now)\n"
                 "        mine = [sid for sid, s in self._sessions.items() if s.user == user]\n"
                 "        if len(mine) >= self.per_user:\n"
                 "            del self._sessions[mine[0]]\n"),
                ("sessions/store.py",
                 "        expired = [sid for sid, s in self._sessions.items() if s.expires_at <= now]\n"
                 "        for sid in expired:\n"
                 "            del self._sessions[sid]\n"
                 "        return len(expired)\n",
                 "        removed = 0\n"
                 "        for sid, session in self._sessions.items():\n"
                 "            if session.expires_at <= now:\n"
                 "                del self._sessions[sid]\n"
                 "                self.on_expire(session)\n"
                 "                removed += 1\n"
                 "        return removed\n"),
                ("tests/test_store.py", "\n\ndef test_purge_removes_only_expired():\n",
                 "\n\ndef test_oldest_session_dropped_over_the_limit():\n"
                 "    store = SessionStore(per_user=3)\n"
                 "    sids = [store.create(\"ana\", now=n) for n in range(4)]\n"
                 "    assert store.get(sids[0], now=5) is None\n"
                 "    assert all(store.get(sid, now=5) for sid in sids[1:])\n"
                 "\n\ndef test_purge_removes_only_expired():\n"),
            ),
        ),
        Commit(
            "auth: remember whose sessions expired (audit trail)",
            edits=(
                ("sessions/auth.py", "        self.store = store or SessionStore()\n",
                 "        self.store = store or SessionStore(on_expire=self._expired)\n"
                 "        self.expired_users = []\n\n"
                 "    def _expired(self, session):\n"
                 "        self.expired_users.append(session.user)\n"),
                ("tests/test_auth.py", "\n\ndef test_bad_password():\n",
                 "\n\ndef test_expired_sessions_are_audited():\n"
                 "    auth = Auth()\n"
                 "    auth.login(\"ana\", \"pa55\", now=0)\n"
                 "    auth.login(\"chen\", \"correct horse\", now=100)\n"
                 "    auth.login(\"ben\", \"hunter2\", now=1850)\n"
                 "    assert auth.expired_users == [\"ana\"]\n"
                 "\n\ndef test_bad_password():\n"),
            ),
        ),
        Commit(
            "store: sliding expiry, reading a session extends it",
            edits=(
                ("sessions/store.py",
                 "        if session is None or session.expires_at <= now:\n            return None\n        return session\n",
                 "        if session is None or session.expires_at <= now:\n            return None\n"
                 "        session.expires_at = now + self.ttl\n        return session\n"),
                ("tests/test_store.py", "\n\ndef test_oldest_session_dropped_over_the_limit():\n",
                 "\n\ndef test_reading_extends_the_session():\n"
                 "    store = SessionStore(ttl=100)\n"
                 "    sid = store.create(\"ana\", now=0)\n"
                 "    assert store.get(sid, now=90) is not None\n"
                 "    assert store.get(sid, now=150).user == \"ana\"\n"
                 "\n\ndef test_oldest_session_dropped_over_the_limit():\n"),
                ("tests/test_store.py", "    assert store.get(sid, now=99).user == \"ana\"\n    assert store.get(sid, now=100) is None\n",
                 "    assert store.get(sid, now=99).user == \"ana\"\n    assert store.get(sid, now=199) is None\n"),
            ),
        ),
        Commit(
            "store: active sessions of a user (for the 'signed in elsewhere' banner)",
            edits=(
                ("sessions/store.py", "    def __len__(self):\n",
                 "    def active(self, user, now):\n"
                 "        return sum(1 for s in self._sessions.values() if s.user == user and s.expires_at > now)\n\n"
                 "    def __len__(self):\n"),
                ("tests/test_store.py", "\n\ndef test_purge_removes_only_expired():\n",
                 "\n\ndef test_active_sessions():\n"
                 "    store = SessionStore(ttl=100)\n"
                 "    store.create(\"ana\", now=0)\n"
                 "    store.create(\"ana\", now=50)\n"
                 "    store.create(\"ben\", now=50)\n"
                 "    assert store.active(\"ana\", now=120) == 1\n"
                 "\n\ndef test_purge_removes_only_expired():\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from sessions.auth import Auth\nauth = Auth()\nauth.login("ana", "pa55", now=1717400000.0)\nauth.login("ben", "hunter2", now=1717405000.0)\n',
    fix=[("sessions/store.py", "        for sid, session in self._sessions.items():\n",
          "        for sid, session in list(self._sessions.items()):\n")],
    must_keep=[("sessions/store.py", "self.per_user"), ("sessions/store.py", "self.on_expire(session)"),
               ("sessions/auth.py", "expired_users"), ("sessions/store.py", "def active(")],
)

# ---------------------------------------------------------------------------------------------------------------
# R05: settings grouped into a nested dict, but the merge of overrides stays shallow
# ---------------------------------------------------------------------------------------------------------------

R05 = Spec(
    name="r12_nested_config_shallow_merge",
    tier="review5",
    kind="config data: retry settings moved into a nested dict while load() still merges overrides shallowly (a partial override drops keys)",
    hard="KeyError raised in retry.py, the merge is in config.py (whose load() the commit did not change); "
         "the failing test came two commits later; later commits use max_delay and the settings file",
    service="backup-runner",
    commits=[
        Commit(
            "backup: upload files with retries",
            {
                "backup/__init__.py": "",
                "backup/config.py": r'''
                    DEFAULTS = {
                        "bucket": "backups",
                        "compress": True,
                        "retry_attempts": 3,
                        "retry_backoff": 2.0,
                    }


                    def load(overrides=None):
                        return {**DEFAULTS, **(overrides or {})}
                ''',
                "backup/retry.py": r'''
                    def delays(config):
                        attempts = config["retry_attempts"]
                        backoff = config["retry_backoff"]
                        return [backoff**n for n in range(attempts - 1)]
                ''',
                "backup/job.py": r'''
                    from backup.config import load
                    from backup.retry import delays


                    def run(files, upload, overrides=None, sleep=lambda seconds: None):
                        config = load(overrides)
                        waits = delays(config)
                        done = []
                        for name in files:
                            for attempt in range(len(waits) + 1):
                                try:
                                    upload(config["bucket"], name)
                                    break
                                except ConnectionError:
                                    if attempt == len(waits):
                                        raise
                                    sleep(waits[attempt])
                            done.append(name)
                        return done
                ''',
                "tests/test_job.py": r'''
                    import pytest

                    from backup.job import run


                    def flaky(failures):
                        calls = []

                        def upload(bucket, name):
                            calls.append((bucket, name))
                            if len(calls) <= failures:
                                raise ConnectionError("reset by peer")

                        return upload, calls


                    def test_uploads_every_file():
                        upload, calls = flaky(0)
                        assert run(["a.tar", "b.tar"], upload) == ["a.tar", "b.tar"]
                        assert calls == [("backups", "a.tar"), ("backups", "b.tar")]


                    def test_retries_with_backoff():
                        upload, calls = flaky(2)
                        slept = []
                        run(["a.tar"], upload, sleep=slept.append)
                        assert slept == [1.0, 2.0] and len(calls) == 3


                    def test_gives_up():
                        upload, _ = flaky(10)
                        with pytest.raises(ConnectionError):
                            run(["a.tar"], upload)
                ''',
            },
        ),
        Commit(
            "config: object name prefix",
            edits=(
                ("backup/config.py", '    "bucket": "backups",\n', '    "bucket": "backups",\n    "prefix": "",\n'),
                ("backup/job.py", 'upload(config["bucket"], name)', 'upload(config["bucket"], config["prefix"] + name)'),
                ("tests/test_job.py", "\n\ndef test_retries_with_backoff():\n",
                 "\n\ndef test_prefix_and_bucket_overrides():\n"
                 "    upload, calls = flaky(0)\n"
                 "    run([\"db.sql\"], upload, overrides={\"bucket\": \"nightly\", \"prefix\": \"2024/\"})\n"
                 "    assert calls == [(\"nightly\", \"2024/db.sql\")]\n"
                 "\n\ndef test_retries_with_backoff():\n"),
            ),
        ),
        Commit(
            "retry: jitter so parallel jobs do not retry in lockstep",
            {
                "backup/retry.py": r'''
                    import random


                    def delays(config, rng=None):
                        rng = rng or random.Random()
                        attempts = config["retry_attempts"]
                        backoff = config["retry_backoff"]
                        jitter = config["retry_jitter"]
                        return [backoff**n + jitter * rng.random() for n in range(attempts - 1)]
                ''',
                "tests/test_retry.py": r'''
                    from backup.config import load
                    from backup.retry import delays


                    class Half:
                        def random(self):
                            return 0.5


                    def test_jitter():
                        config = load({"retry_jitter": 1.0})
                        assert delays(config, Half()) == [1.5, 2.5]
                ''',
            },
            edits=(
                ("backup/config.py", '    "retry_backoff": 2.0,\n', '    "retry_backoff": 2.0,\n    "retry_jitter": 0.0,\n'),
            ),
        ),
        Commit(
            "job: skip files the manifest already has",
            edits=(
                ("backup/job.py", "def run(files, upload, overrides=None, sleep=lambda seconds: None):\n",
                 "def run(files, upload, overrides=None, sleep=lambda seconds: None, manifest=()):\n"),
                ("backup/job.py", "        for attempt in range(len(waits) + 1):\n",
                 "        if name in manifest:\n            continue\n        for attempt in range(len(waits) + 1):\n"),
                ("tests/test_job.py", "\n\ndef test_retries_with_backoff():\n",
                 "\n\ndef test_manifest_skips():\n"
                 "    upload, calls = flaky(0)\n"
                 "    assert run([\"a.tar\", \"b.tar\"], upload, manifest={\"a.tar\"}) == [\"b.tar\"]\n"
                 "\n\ndef test_retries_with_backoff():\n"),
            ),
        ),
        Commit(
            "config: group the retry settings; cap every delay at max_delay",
            {
                "backup/retry.py": r'''
                    import random


                    def delays(config, rng=None):
                        rng = rng or random.Random()
                        retry = config["retry"]
                        waits = []
                        for n in range(retry["attempts"] - 1):
                            wait = retry["backoff"] ** n + retry["jitter"] * rng.random()
                            waits.append(min(wait, retry["max_delay"]))
                        return waits
                ''',
                "tests/test_retry.py": r'''
                    from backup.config import DEFAULTS, load
                    from backup.retry import delays


                    class Half:
                        def random(self):
                            return 0.5


                    def test_jitter():
                        config = load({"retry": {**DEFAULTS["retry"], "jitter": 1.0}})
                        assert delays(config, Half()) == [1.5, 2.5]


                    def test_max_delay():
                        config = load({"retry": {**DEFAULTS["retry"], "attempts": 10, "max_delay": 30.0}})
                        assert delays(config)[-3:] == [30.0, 30.0, 30.0]
                ''',
            },
            edits=(
                ("backup/config.py",
                 '    "retry_attempts": 3,\n    "retry_backoff": 2.0,\n    "retry_jitter": 0.0,\n',
                 '    "retry": {"attempts": 3, "backoff": 2.0, "jitter": 0.0, "max_delay": 60.0},\n'),
            ),
        ),
        Commit(
            "config: read overrides from a JSON settings file",
            edits=(
                ("backup/config.py", "DEFAULTS = {\n", "import json\n\nDEFAULTS = {\n"),
                ("backup/config.py", "    return {**DEFAULTS, **(overrides or {})}\n",
                 "    return {**DEFAULTS, **(overrides or {})}\n\n\n"
                 "def load_file(path):\n"
                 "    with open(path, encoding=\"utf-8\") as handle:\n"
                 "        return load(json.load(handle))\n"),
                ("tests/test_retry.py", "from backup.config import DEFAULTS, load\n",
                 "import json\n\nfrom backup.config import DEFAULTS, load, load_file\n"),
                ("tests/test_retry.py", "\n\ndef test_jitter():\n",
                 "\n\ndef test_settings_file(tmp_path):\n"
                 "    path = tmp_path / \"backup.json\"\n"
                 "    path.write_text(json.dumps({\"bucket\": \"offsite\"}))\n"
                 "    assert load_file(path)[\"bucket\"] == \"offsite\"\n"
                 "\n\ndef test_jitter():\n"),
            ),
        ),
        Commit(
            "job: a settings file may override one retry setting",
            edits=(
                ("backup/job.py", "from backup.config import load\n", "from backup.config import load, load_file\n"),
                ("backup/job.py", "\n\ndef run(files, upload,",
                 "\n\ndef run_with_file(path, files, upload, **kwargs):\n"
                 "    return run(files, upload, overrides=load_file(path), **kwargs)\n"
                 "\n\ndef run(files, upload,"),
                ("tests/test_job.py", "import pytest\n", "import json\n\nimport pytest\n"),
                ("tests/test_job.py", "from backup.job import run\n", "from backup.job import run, run_with_file\n"),
                ("tests/test_job.py", "\n\ndef test_gives_up():\n",
                 "\n\ndef test_more_attempts_from_the_settings_file(tmp_path):\n"
                 "    path = tmp_path / \"backup.json\"\n"
                 "    path.write_text(json.dumps({\"retry\": {\"attempts\": 5}}))\n"
                 "    upload, calls = flaky(4)\n"
                 "    slept = []\n"
                 "    assert run_with_file(path, [\"a.tar\"], upload, sleep=slept.append) == [\"a.tar\"]\n"
                 "    assert slept == [1.0, 2.0, 4.0, 8.0]\n"
                 "\n\ndef test_gives_up():\n"),
            ),
        ),
    ],
    suspect=4,
    repro='from backup.job import run\nprint(run(["db.sql.gz", "media.tar"], upload=lambda bucket, name: None, overrides={"retry": {"attempts": 5}}))\n',
    fix=[("backup/config.py", "    return {**DEFAULTS, **(overrides or {})}\n",
          "    overrides = dict(overrides or {})\n"
          "    retry = {**DEFAULTS[\"retry\"], **overrides.pop(\"retry\", {})}\n"
          "    return {**DEFAULTS, **overrides, \"retry\": retry}\n")],
    must_keep=[("backup/config.py", '"max_delay"'), ("backup/config.py", "def load_file("),
               ("backup/retry.py", 'retry["max_delay"]'), ("backup/job.py", "def run_with_file(")],
)

# ---------------------------------------------------------------------------------------------------------------
# R06: the event bus starts passing a delivery context; one subscriber in another module still takes one argument
# ---------------------------------------------------------------------------------------------------------------

R06 = Spec(
    name="r12_handler_arity_contract",
    tier="review5",
    kind="API contract between modules: bus handlers now get (payload, ctx), the fines subscriber still takes (payload)",
    hard="TypeError raised at the call in bus.py; the stale handler is in fines.py, untouched by the regressing commit "
         "(which updated notify.py); later commits record event ids per book and add a staff waiver to fines.py",
    service="library-desk",
    commits=[
        Commit(
            "library: loans, returns and late fines over an event bus",
            {
                "library/__init__.py": "",
                "library/bus.py": r'''
                    from collections import defaultdict


                    class Bus:
                        def __init__(self):
                            self._handlers = defaultdict(list)

                        def subscribe(self, topic, handler):
                            self._handlers[topic].append(handler)

                        def publish(self, topic, payload):
                            for handler in self._handlers[topic]:
                                handler(payload)
                ''',
                "library/fines.py": r'''
                    from datetime import date

                    DAILY_FINE_CENTS = 25
                    MAX_FINE_CENTS = 1000


                    class Fines:
                        def __init__(self):
                            self.owed = {}

                        def on_returned(self, payload):
                            late = (date.fromisoformat(payload["returned"]) - date.fromisoformat(payload["due"])).days
                            if late > 0:
                                fine = min(late * DAILY_FINE_CENTS, MAX_FINE_CENTS)
                                self.owed[payload["member"]] = self.owed.get(payload["member"], 0) + fine
                ''',
                "library/loans.py": r'''
                    from datetime import date, timedelta

                    from library.bus import Bus
                    from library.fines import Fines

                    LOAN_DAYS = 21


                    class Library:
                        def __init__(self):
                            self.bus = Bus()
                            self.fines = Fines()
                            self.loans = {}
                            self.bus.subscribe("loan.returned", self.fines.on_returned)

                        def lend(self, member, book, day):
                            due = date.fromisoformat(day) + timedelta(days=LOAN_DAYS)
                            self.loans[book] = {"member": member, "book": book, "due": due.isoformat()}
                            self.bus.publish("loan.created", self.loans[book])
                            return due.isoformat()

                        def give_back(self, book, day):
                            loan = self.loans.pop(book)
                            self.bus.publish("loan.returned", {**loan, "returned": day})
                ''',
                "tests/test_fines.py": r'''
                    from library.loans import Library


                    def test_on_time_return_costs_nothing():
                        lib = Library()
                        lib.lend("m1", "Dune", "2024-05-01")
                        lib.give_back("Dune", "2024-05-22")
                        assert lib.fines.owed == {}


                    def test_late_return():
                        lib = Library()
                        lib.lend("m1", "Dune", "2024-05-01")
                        lib.give_back("Dune", "2024-05-25")
                        assert lib.fines.owed == {"m1": 75}


                    def test_fine_is_capped():
                        lib = Library()
                        lib.lend("m2", "Emma", "2024-01-01")
                        lib.give_back("Emma", "2024-05-01")
                        assert lib.fines.owed == {"m2": 1000}
                ''',
            },
        ),
        Commit(
            "notify: queue a due-date email when a loan is created",
            {
                "library/notify.py": r'''
                    class Notifier:
                        def __init__(self):
                            self.outbox = []

                        def on_created(self, payload):
                            self.outbox.append((payload["member"], f'"{payload["book"]}" is due on {payload["due"]}'))
                ''',
                "tests/test_notify.py": r'''
                    from library.loans import Library


                    def test_due_date_email():
                        lib = Library()
                        lib.lend("m7", "Persuasion", "2024-03-01")
                        assert lib.notifier.outbox == [("m7", '"Persuasion" is due on 2024-03-22')]
                ''',
            },
            edits=(
                ("library/loans.py", "from library.fines import Fines\n",
                 "from library.fines import Fines\nfrom library.notify import Notifier\n"),
                ("library/loans.py", "        self.loans = {}\n",
                 "        self.notifier = Notifier()\n        self.loans = {}\n"),
                ("library/loans.py", '        self.bus.subscribe("loan.returned", self.fines.on_returned)\n',
                 '        self.bus.subscribe("loan.returned", self.fines.on_returned)\n'
                 '        self.bus.subscribe("loan.created", self.notifier.on_created)\n'),
            ),
        ),
        Commit(
            "loans: renew a loan for another loan period",
            edits=(
                ("library/loans.py", "    def give_back(self, book, day):\n",
                 "    def renew(self, book):\n"
                 "        loan = self.loans[book]\n"
                 "        loan[\"due\"] = (date.fromisoformat(loan[\"due\"]) + timedelta(days=LOAN_DAYS)).isoformat()\n"
                 "        self.bus.publish(\"loan.renewed\", loan)\n"
                 "        return loan[\"due\"]\n\n"
                 "    def give_back(self, book, day):\n"),
                ("tests/test_fines.py", "\n\ndef test_fine_is_capped():\n",
                 "\n\ndef test_renewed_loan_is_not_late():\n"
                 "    lib = Library()\n"
                 "    lib.lend(\"m1\", \"Dune\", \"2024-05-01\")\n"
                 "    assert lib.renew(\"Dune\") == \"2024-06-12\"\n"
                 "    lib.give_back(\"Dune\", \"2024-06-10\")\n"
                 "    assert lib.fines.owed == {}\n"
                 "\n\ndef test_fine_is_capped():\n"),
            ),
        ),
        Commit(
            "bus: handlers get a delivery context (event id, topic); one notifier for new and renewed loans",
            {
                "library/bus.py": r'''
                    import itertools
                    from collections import defaultdict
                    from dataclasses import dataclass


                    @dataclass(frozen=True)
                    class Delivery:
                        event_id: int
                        topic: str


                    class Bus:
                        def __init__(self):
                            self._handlers = defaultdict(list)
                            self._ids = itertools.count(1)

                        def subscribe(self, topic, handler):
                            self._handlers[topic].append(handler)

                        def publish(self, topic, payload):
                            ctx = Delivery(next(self._ids), topic)
                            for handler in self._handlers[topic]:
                                handler(payload, ctx)
                ''',
                "library/notify.py": r'''
                    SUBJECTS = {"loan.created": "is due on", "loan.renewed": "was renewed, now due on"}


                    class Notifier:
                        def __init__(self):
                            self.outbox = []

                        def on_loan(self, payload, ctx):
                            text = f'"{payload["book"]}" {SUBJECTS[ctx.topic]} {payload["due"]}'
                            self.outbox.append((payload["member"], text))
                ''',
            },
            edits=(
                ("library/loans.py", '        self.bus.subscribe("loan.created", self.notifier.on_created)\n',
                 '        self.bus.subscribe("loan.created", self.notifier.on_loan)\n'
                 '        self.bus.subscribe("loan.renewed", self.notifier.on_loan)\n'),
                ("tests/test_notify.py", "    assert lib.notifier.outbox == [(\"m7\", '\"Persuasion\" is due on 2024-03-22')]\n",
                 "    assert lib.notifier.outbox == [(\"m7\", '\"Persuasion\" is due on 2024-03-22')]\n"
                 "\n\ndef test_renewal_email():\n"
                 "    lib = Library()\n"
                 "    lib.lend(\"m7\", \"Persuasion\", \"2024-03-01\")\n"
                 "    lib.renew(\"Persuasion\")\n"
                 "    assert lib.notifier.outbox[-1] == (\"m7\", '\"Persuasion\" was renewed, now due on 2024-04-12')\n"),
            ),
        ),
        Commit(
            "loans: event history per book for the front desk",
            edits=(
                ("library/loans.py", "        self.loans = {}\n",
                 "        self.loans = {}\n        self.history = {}\n"),
                ("library/loans.py", '        self.bus.subscribe("loan.renewed", self.notifier.on_loan)\n',
                 '        self.bus.subscribe("loan.renewed", self.notifier.on_loan)\n'
                 '        for topic in ("loan.created", "loan.renewed", "loan.returned"):\n'
                 '            self.bus.subscribe(topic, self._record)\n\n'
                 '    def _record(self, payload, ctx):\n'
                 '        self.history.setdefault(payload["book"], []).append((ctx.event_id, ctx.topic))\n'),
                ("tests/test_notify.py", "from library.loans import Library\n",
                 "from library.loans import Library\n\n\ndef test_history_of_a_book():\n"
                 "    lib = Library()\n"
                 "    lib.lend(\"m7\", \"Persuasion\", \"2024-03-01\")\n"
                 "    lib.renew(\"Persuasion\")\n"
                 "    assert lib.history == {\"Persuasion\": [(1, \"loan.created\"), (2, \"loan.renewed\")]}\n"),
            ),
        ),
        Commit(
            "fines: no late fines on staff cards",
            edits=(
                ("library/fines.py", "MAX_FINE_CENTS = 1000\n", "MAX_FINE_CENTS = 1000\nSTAFF_PREFIX = \"staff-\"\n"),
                ("library/fines.py", "        if late > 0:\n",
                 "        if late > 0 and not payload[\"member\"].startswith(STAFF_PREFIX):\n"),
                ("tests/test_fines.py", "\n\ndef test_fine_is_capped():\n",
                 "\n\ndef test_staff_are_not_fined():\n"
                 "    lib = Library()\n"
                 "    lib.lend(\"staff-3\", \"Dune\", \"2024-05-01\")\n"
                 "    lib.give_back(\"Dune\", \"2024-05-30\")\n"
                 "    assert lib.fines.owed == {}\n"
                 "\n\ndef test_fine_is_capped():\n"),
            ),
        ),
    ],
    suspect=3,
    repro='from library.loans import Library\nlib = Library()\nlib.lend("m-301", "Dune", "2024-05-02")\nlib.give_back("Dune", "2024-05-30")\nprint(lib.fines.owed)\n',
    fix=[("library/fines.py", "    def on_returned(self, payload):\n", "    def on_returned(self, payload, ctx=None):\n")],
    must_keep=[("library/bus.py", "class Delivery"), ("library/notify.py", "ctx.topic"),
               ("library/loans.py", "self.history"), ("library/fines.py", "STAFF_PREFIX")],
)

# ---------------------------------------------------------------------------------------------------------------
# R07: a search loop rewritten from max(...) to for/break loses its "nothing found" value
# ---------------------------------------------------------------------------------------------------------------

R07 = Spec(
    name="r12_loop_result_unbound",
    tier="review5",
    kind="control flow: max() over candidates rewritten as a for/break loop, the variable is never set when nothing matches (UnboundLocalError)",
    hard="the no-bin path had no test when the loop was written (the backorder test came two commits later); "
         "the crash surfaces through orders.pick_list; a later commit rewrote the loop's sort key, so revert conflicts",
    service="warehouse-picking",
    commits=[
        Commit(
            "picking: pick list from bin stock, unservable lines go to backorder",
            {
                "picking/__init__.py": "",
                "picking/bins.py": r'''
                    from dataclasses import dataclass


                    @dataclass
                    class Bin:
                        code: str
                        sku: str
                        qty: int
                        aisle: int = 0
                        blocked: bool = False


                    def load(rows):
                        return [Bin(r["code"], r["sku"], int(r["qty"]), int(r.get("aisle", 0))) for r in rows]
                ''',
                "picking/picker.py": r'''
                    def choose_bin(bins, sku, qty):
                        candidates = [b for b in bins if b.sku == sku and b.qty >= qty]
                        if not candidates:
                            return None
                        return max(candidates, key=lambda b: b.qty)
                ''',
                "picking/orders.py": r'''
                    from picking.picker import choose_bin


                    def pick_list(lines, bins):
                        picks, backorder = [], []
                        for line in lines:
                            chosen = choose_bin(bins, line["sku"], line["qty"])
                            if chosen is None:
                                backorder.append(line)
                                continue
                            chosen.qty -= line["qty"]
                            picks.append({"sku": line["sku"], "qty": line["qty"], "bin": chosen.code, "aisle": chosen.aisle})
                        return {"picks": picks, "backorder": backorder}
                ''',
                "tests/test_orders.py": r'''
                    from picking.bins import load
                    from picking.orders import pick_list

                    STOCK = [
                        {"code": "A1-01", "sku": "MUG", "qty": 4, "aisle": 1},
                        {"code": "C3-02", "sku": "MUG", "qty": 9, "aisle": 3},
                        {"code": "B2-07", "sku": "TEE", "qty": 6, "aisle": 2},
                    ]


                    def test_fullest_bin_is_picked():
                        out = pick_list([{"sku": "MUG", "qty": 2}], load(STOCK))
                        assert out["picks"] == [{"sku": "MUG", "qty": 2, "bin": "C3-02", "aisle": 3}]


                    def test_stock_is_decremented():
                        bins = load(STOCK)
                        pick_list([{"sku": "TEE", "qty": 5}], bins)
                        assert bins[2].qty == 1
                ''',
            },
        ),
        Commit(
            "orders: picks sorted by aisle, one walk through the warehouse",
            edits=(
                ("picking/orders.py", '    return {"picks": picks, "backorder": backorder}\n',
                 '    picks.sort(key=lambda pick: pick["aisle"])\n    return {"picks": picks, "backorder": backorder}\n'),
                ("tests/test_orders.py", "\n\ndef test_stock_is_decremented():\n",
                 "\n\ndef test_walk_order():\n"
                 "    out = pick_list([{\"sku\": \"MUG\", \"qty\": 1}, {\"sku\": \"TEE\", \"qty\": 1}], load(STOCK))\n"
                 "    assert [p[\"bin\"] for p in out[\"picks\"]] == [\"B2-07\", \"C3-02\"]\n"
                 "\n\ndef test_stock_is_decremented():\n"),
            ),
        ),
        Commit(
            "picker: skip blocked bins; fullest bin first, nearest aisle on a tie",
            {
                "picking/picker.py": r'''
                    def choose_bin(bins, sku, qty):
                        ranked = sorted(bins, key=lambda b: (-b.qty, b.aisle))
                        for candidate in ranked:
                            if candidate.sku == sku and not candidate.blocked and candidate.qty >= qty:
                                found = candidate
                                break
                        return found
                ''',
            },
            edits=(
                ("picking/bins.py", 'int(r.get("aisle", 0))) for r in rows]',
                 'int(r.get("aisle", 0)), bool(r.get("blocked", False))) for r in rows]'),
                ("tests/test_orders.py", "\n\ndef test_walk_order():\n",
                 "\n\ndef test_blocked_bin_is_skipped():\n"
                 "    stock = [dict(STOCK[1], blocked=True), STOCK[0]]\n"
                 "    out = pick_list([{\"sku\": \"MUG\", \"qty\": 2}], load(stock))\n"
                 "    assert out[\"picks\"][0][\"bin\"] == \"A1-01\"\n"
                 "\n\ndef test_tie_goes_to_the_nearest_aisle():\n"
                 "    stock = [{\"code\": \"D4-01\", \"sku\": \"CAP\", \"qty\": 5, \"aisle\": 4},\n"
                 "             {\"code\": \"B2-01\", \"sku\": \"CAP\", \"qty\": 5, \"aisle\": 2}]\n"
                 "    out = pick_list([{\"sku\": \"CAP\", \"qty\": 1}], load(stock))\n"
                 "    assert out[\"picks\"][0][\"bin\"] == \"B2-01\"\n"
                 "\n\ndef test_walk_order():\n"),
            ),
        ),
        Commit(
            "bins: block a bin during a stock count",
            edits=(
                ("picking/bins.py", "\n\ndef load(rows):\n",
                 "\n\ndef block(bins, code):\n"
                 "    for b in bins:\n"
                 "        if b.code == code:\n"
                 "            b.blocked = True\n"
                 "            return b\n"
                 "    raise KeyError(f\"no bin {code}\")\n"
                 "\n\ndef load(rows):\n"),
                ("tests/test_orders.py", "from picking.bins import load\n", "from picking.bins import block, load\n"),
                ("tests/test_orders.py", "\n\ndef test_walk_order():\n",
                 "\n\ndef test_stock_count_blocks_the_bin():\n"
                 "    bins = load(STOCK)\n"
                 "    block(bins, \"C3-02\")\n"
                 "    assert pick_list([{\"sku\": \"MUG\", \"qty\": 3}], bins)[\"picks\"][0][\"bin\"] == \"A1-01\"\n"
                 "\n\ndef test_walk_order():\n"),
            ),
        ),
        Commit(
            "orders: tests for lines that go to backorder",
            edits=(
                ("tests/test_orders.py", "\n\ndef test_stock_is_decremented():\n",
                 "\n\ndef test_not_enough_stock_goes_to_backorder():\n"
                 "    out = pick_list([{\"sku\": \"TEE\", \"qty\": 10}, {\"sku\": \"MUG\", \"qty\": 1}], load(STOCK))\n"
                 "    assert out[\"backorder\"] == [{\"sku\": \"TEE\", \"qty\": 10}]\n"
                 "    assert [p[\"sku\"] for p in out[\"picks\"]] == [\"MUG\"]\n"
                 "\n\ndef test_every_bin_blocked():\n"
                 "    bins = load(STOCK)\n"
                 "    block(bins, \"B2-07\")\n"
                 "    assert pick_list([{\"sku\": \"TEE\", \"qty\": 1}], bins)[\"backorder\"] == [{\"sku\": \"TEE\", \"qty\": 1}]\n"
                 "\n\ndef test_stock_is_decremented():\n"),
            ),
        ),
        Commit(
            "picker: pick-face bins (aisles 1-9) before reserve bins",
            edits=(
                ("picking/picker.py", "def choose_bin(bins, sku, qty):\n",
                 "PICK_FACE_AISLES = 9\n\n\ndef choose_bin(bins, sku, qty):\n"),
                ("picking/picker.py", "    ranked = sorted(bins, key=lambda b: (-b.qty, b.aisle))\n",
                 "    ranked = sorted(bins, key=lambda b: (b.aisle > PICK_FACE_AISLES, -b.qty, b.aisle))\n"),
                ("tests/test_orders.py", "\n\ndef test_walk_order():\n",
                 "\n\ndef test_pick_face_before_reserve():\n"
                 "    stock = [{\"code\": \"R12-01\", \"sku\": \"MUG\", \"qty\": 40, \"aisle\": 12}, STOCK[0]]\n"
                 "    assert pick_list([{\"sku\": \"MUG\", \"qty\": 2}], load(stock))[\"picks\"][0][\"bin\"] == \"A1-01\"\n"
                 "    assert pick_list([{\"sku\": \"MUG\", \"qty\": 6}], load(stock))[\"picks\"][0][\"bin\"] == \"R12-01\"\n"
                 "\n\ndef test_walk_order():\n"),
            ),
        ),
    ],
    suspect=2,
    repro='from picking.bins import load\nfrom picking.orders import pick_list\n'
          'bins = load([{"code": "A1-03", "sku": "MUG-RED", "qty": 12, "aisle": 1}, {"code": "B4-11", "sku": "TEE-M", "qty": 2, "aisle": 4}])\n'
          'print(pick_list([{"sku": "MUG-RED", "qty": 2}, {"sku": "TEE-M", "qty": 5}], bins))\n',
    fix=[("picking/picker.py", "    for candidate in ranked:\n", "    found = None\n    for candidate in ranked:\n")],
    must_keep=[("picking/picker.py", "not candidate.blocked"), ("picking/picker.py", "PICK_FACE_AISLES"),
               ("picking/bins.py", "def block("), ("picking/orders.py", "picks.sort(")],
)

# ---------------------------------------------------------------------------------------------------------------
# R08: integer constants replaced by a plain Enum; the queue still does arithmetic on the priority
# ---------------------------------------------------------------------------------------------------------------

R08 = Spec(
    name="r12_enum_base_class",
    tier="review5",
    kind="class hierarchy: priority constants turned into a plain Enum (not IntEnum), the queue negates the priority to sort",
    hard="TypeError raised in queue.py (the sort key), the bug is the Enum base class in models.py; "
         "the regression is the sixth of seven commits and the last commit's API listing relies on the enum's labels",
    service="helpdesk",
    commits=[
        Commit(
            "helpdesk: tickets and a priority queue",
            {
                "helpdesk/__init__.py": "",
                "helpdesk/models.py": r'''
                    from dataclasses import dataclass

                    LOW, NORMAL, HIGH, URGENT = 1, 2, 3, 4


                    @dataclass
                    class Ticket:
                        id: int
                        subject: str
                        priority: int = NORMAL
                        opened_at: float = 0.0
                        assignee: str | None = None
                ''',
                "helpdesk/queue.py": r'''
                    def ordered(tickets):
                        return sorted(tickets, key=lambda t: (-t.priority, t.opened_at))


                    def next_ticket(tickets):
                        waiting = [t for t in tickets if t.assignee is None]
                        return ordered(waiting)[0] if waiting else None
                ''',
                "tests/test_queue.py": r'''
                    from helpdesk.models import HIGH, LOW, URGENT, Ticket
                    from helpdesk.queue import next_ticket, ordered


                    def test_priority_then_age():
                        tickets = [Ticket(1, "a", LOW, 10.0), Ticket(2, "b", URGENT, 30.0), Ticket(3, "c", URGENT, 20.0)]
                        assert [t.id for t in ordered(tickets)] == [3, 2, 1]


                    def test_next_skips_assigned():
                        tickets = [Ticket(1, "a", HIGH, 0.0, assignee="ana"), Ticket(2, "b", LOW, 5.0)]
                        assert next_ticket(tickets).id == 2


                    def test_empty_queue():
                        assert next_ticket([]) is None
                ''',
            },
        ),
        Commit(
            "sla: response deadlines per priority",
            {
                "helpdesk/sla.py": r'''
                    from helpdesk.models import HIGH, LOW, NORMAL, URGENT

                    RESPONSE_HOURS = {URGENT: 1, HIGH: 4, NORMAL: 24, LOW: 72}


                    def deadline(ticket):
                        return ticket.opened_at + RESPONSE_HOURS[ticket.priority] * 3600


                    def breached(tickets, now):
                        return [t.id for t in tickets if deadline(t) < now]
                ''',
                "tests/test_sla.py": r'''
                    from helpdesk.models import LOW, URGENT, Ticket
                    from helpdesk.sla import breached, deadline


                    def test_deadline():
                        assert deadline(Ticket(1, "a", URGENT, 1000.0)) == 4600.0


                    def test_breached():
                        tickets = [Ticket(1, "a", URGENT, 0.0), Ticket(2, "b", LOW, 0.0)]
                        assert breached(tickets, now=7200.0) == [1]
                ''',
            },
        ),
        Commit(
            "queue: tickets past their SLA jump the queue",
            {
                "helpdesk/queue.py": r'''
                    from helpdesk.sla import deadline


                    def ordered(tickets, now=None):
                        def key(t):
                            late = now is not None and deadline(t) < now
                            return (not late, -t.priority, t.opened_at)

                        return sorted(tickets, key=key)


                    def next_ticket(tickets, now=None):
                        waiting = [t for t in tickets if t.assignee is None]
                        return ordered(waiting, now)[0] if waiting else None
                ''',
            },
            edits=(
                ("tests/test_queue.py", "\n\ndef test_empty_queue():\n",
                 "\n\ndef test_breached_ticket_first():\n"
                 "    tickets = [Ticket(1, \"a\", HIGH, 0.0), Ticket(2, \"b\", URGENT, 0.0)]\n"
                 "    assert next_ticket(tickets, now=3 * 3600.0).id == 2\n"
                 "    tickets = [Ticket(1, \"a\", HIGH, 0.0), Ticket(2, \"b\", URGENT, 5 * 3600.0)]\n"
                 "    assert next_ticket(tickets, now=5 * 3600.0).id == 1\n"
                 "\n\ndef test_empty_queue():\n"),
            ),
        ),
        Commit(
            "api: ticket payloads for the web console",
            {
                "helpdesk/api.py": r'''
                    from helpdesk.models import NORMAL, Ticket


                    def to_json(ticket):
                        return {"id": ticket.id, "subject": ticket.subject, "priority": ticket.priority, "assignee": ticket.assignee}


                    def from_json(data):
                        priority = int(data.get("priority", NORMAL))
                        return Ticket(int(data["id"]), data["subject"], priority, float(data.get("opened_at", 0)))
                ''',
                "tests/test_api.py": r'''
                    from helpdesk.api import from_json, to_json


                    def test_round_trip():
                        data = {"id": 9, "subject": "VPN", "priority": 3, "assignee": None}
                        assert to_json(from_json(data)) == data
                ''',
            },
        ),
        Commit(
            "queue: assign the next ticket to an agent",
            edits=(
                ("helpdesk/queue.py", "    return ordered(waiting, now)[0] if waiting else None\n",
                 "    return ordered(waiting, now)[0] if waiting else None\n\n\n"
                 "def assign(tickets, agent, now=None):\n"
                 "    ticket = next_ticket(tickets, now)\n"
                 "    if ticket is not None:\n"
                 "        ticket.assignee = agent\n"
                 "    return ticket\n"),
                ("tests/test_queue.py", "from helpdesk.queue import next_ticket, ordered\n",
                 "from helpdesk.queue import assign, next_ticket, ordered\n"),
                ("tests/test_queue.py", "\n\ndef test_empty_queue():\n",
                 "\n\ndef test_assign():\n"
                 "    tickets = [Ticket(1, \"a\", LOW, 0.0), Ticket(2, \"b\", HIGH, 0.0)]\n"
                 "    assert assign(tickets, \"ben\").id == 2\n"
                 "    assert assign(tickets, \"chen\").id == 1\n"
                 "    assert assign(tickets, \"ana\") is None\n"
                 "\n\ndef test_empty_queue():\n"),
            ),
        ),
        Commit(
            "models: Priority enum; the API speaks priority names (\"high\") instead of numbers",
            {
                "helpdesk/models.py": r'''
                    from dataclasses import dataclass
                    from enum import Enum


                    class Priority(Enum):
                        LOW = 1
                        NORMAL = 2
                        HIGH = 3
                        URGENT = 4

                        @property
                        def label(self):
                            return self.name.lower()


                    LOW, NORMAL, HIGH, URGENT = Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT


                    @dataclass
                    class Ticket:
                        id: int
                        subject: str
                        priority: Priority = NORMAL
                        opened_at: float = 0.0
                        assignee: str | None = None
                ''',
                "helpdesk/api.py": r'''
                    from helpdesk.models import Priority, Ticket


                    def to_json(ticket):
                        return {"id": ticket.id, "subject": ticket.subject, "priority": ticket.priority.label, "assignee": ticket.assignee}


                    def from_json(data):
                        priority = Priority[data.get("priority", "normal").upper()]
                        return Ticket(int(data["id"]), data["subject"], priority, float(data.get("opened_at", 0)))
                ''',
                "tests/test_api.py": r'''
                    from helpdesk.api import from_json, to_json
                    from helpdesk.models import HIGH


                    def test_round_trip():
                        data = {"id": 9, "subject": "VPN", "priority": "high", "assignee": None}
                        assert to_json(from_json(data)) == data


                    def test_priority_by_name():
                        assert from_json({"id": 1, "subject": "x", "priority": "High"}).priority is HIGH
                ''',
            },
        ),
        Commit(
            "api: queue listing for the console, in queue order",
            edits=(
                ("helpdesk/api.py", "from helpdesk.models import Priority, Ticket\n",
                 "from helpdesk.models import Priority, Ticket\nfrom helpdesk.queue import ordered\n"),
                ("helpdesk/api.py", "\n\ndef from_json(data):\n",
                 "\n\ndef queue_json(tickets, now=None):\n"
                 "    return [to_json(ticket) for ticket in ordered(tickets, now)]\n"
                 "\n\ndef from_json(data):\n"),
                ("tests/test_api.py", "from helpdesk.api import from_json, to_json\n",
                 "from helpdesk.api import from_json, queue_json, to_json\n"),
                ("tests/test_api.py", "from helpdesk.models import HIGH\n",
                 "from helpdesk.models import HIGH, LOW, Ticket\n"),
                ("tests/test_api.py", "\n\ndef test_priority_by_name():\n",
                 "\n\ndef test_queue_listing():\n"
                 "    listing = queue_json([Ticket(1, \"printer\", LOW, 0.0), Ticket(2, \"VPN\", HIGH, 60.0)])\n"
                 "    assert [(row[\"id\"], row[\"priority\"]) for row in listing] == [(2, \"high\"), (1, \"low\")]\n"
                 "\n\ndef test_priority_by_name():\n"),
            ),
        ),
    ],
    suspect=5,
    repro='from helpdesk.models import HIGH, URGENT, Ticket\nfrom helpdesk.queue import next_ticket\n'
          'print(next_ticket([Ticket(81, "VPN down", URGENT, 1717400000.0), Ticket(82, "Printer jam", HIGH, 1717390000.0)], now=1717403600.0))\n',
    fix=[("helpdesk/models.py", "from enum import Enum\n", "from enum import IntEnum\n"),
         ("helpdesk/models.py", "class Priority(Enum):", "class Priority(IntEnum):")],
    must_keep=[("helpdesk/models.py", "class Priority("), ("helpdesk/api.py", "priority.label"),
               ("helpdesk/api.py", "def queue_json(")],
)

CASES = [R01, R02, R03, R04, R05, R06, R07, R08]

#!/usr/bin/env python3
"""A second test CRM for learning (issue 30): leads whose conversion nobody here wrote
as a logistic model of the rules `train()` fits.

Conversion depends on saturating counts (the first demo matters, the tenth does not),
recency (activity in the week before the instant), numbers inside event properties
that matter by their sum or size (pricing pages viewed in a session, the seconds it
lasted, a deal's value), categories with many levels (industry, job title, source),
an interaction (recent activity matters more at small companies) and noise; names and
emails carry nothing. Each lead is scored as of 30 days after it was created; the
label is whether it converted within the 90 days after that. Events after the instant
are in the tables too (a learner must not look at them).

Deterministic (Python's Mersenne Twister, seeded): the same files on every machine.
Writes accounts.csv, leads.csv, events.csv and outcomes.csv (tab-separated, COPY
text format, with a header line) into the directory given.

Usage: generate_crm.py OUTPUT_DIR [--leads N]
"""
import csv
import math
import os
import random
import sys
from datetime import datetime, timedelta, timezone

SEED = 20261207
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SCORED_AFTER = timedelta(days=30)
DECIDED_WITHIN = timedelta(days=90)

INDUSTRIES = [f"industry_{i:02d}" for i in range(40)]
# A few industries buy much more, a few much less; the rest are noise.
INDUSTRY_EFFECT = {"industry_03": 0.9, "industry_11": 0.7, "industry_17": 0.6, "industry_24": -0.8,
                   "industry_31": -0.6, "industry_38": 0.5}
REGIONS = ["NA-East", "NA-West", "LATAM", "UK", "DACH", "Nordics", "APAC", "ANZ"]
TITLES = ["CEO", "CTO", "CFO", "VP Sales", "VP Marketing", "VP Engineering", "Head of Ops",
          "Director IT", "Director Marketing", "Sales Manager", "Marketing Manager", "IT Manager",
          "Engineer", "Senior Engineer", "Analyst", "Consultant", "Student", "Intern", "Founder",
          "Product Manager", "Designer", "Recruiter", "Accountant", "Procurement", "Other"]
TITLE_EFFECT = {"CEO": 0.5, "Founder": 0.6, "VP Sales": 0.5, "VP Marketing": 0.4, "Director IT": 0.4,
                "Head of Ops": 0.3, "Procurement": 0.5, "Student": -1.2, "Intern": -1.0,
                "Recruiter": -0.6, "Designer": -0.3}
SOURCES = ["organic", "paid_search", "paid_social", "referral", "partner", "event", "webinar",
           "content", "outbound", "review_site", "direct", "other"]
SOURCE_EFFECT = {"referral": 0.6, "partner": 0.5, "review_site": 0.4, "paid_social": -0.4,
                 "outbound": -0.3}
FIRST = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena",
         "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen",
         "Ximena", "Yusuf", "Zoe", "Shafi", "Maria", "John", "Aiko"]
LAST = ["Smith", "Garcia", "Kim", "Okafor", "Müller", "Rossi", "Nakamura", "Wilson", "Silva",
        "Novak", "Haddad", "Larsen", "Cohen", "Ivanova", "Dubois", "Patel", "O'Brien", "Chen",
        "Kowalski", "Nguyen"]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def iso(t):
    return t.strftime("%Y-%m-%d %H:%M:%S+00")


def generate(out, leads=6000):
    rnd = random.Random(SEED)
    os.makedirs(out, exist_ok=True)
    accounts = []
    for a in range(1, leads // 3 + 1):
        employees = int(math.exp(rnd.gauss(4.2, 1.6))) + 1
        accounts.append((a, f"Account {rnd.randrange(10**6):06d}", rnd.choice(INDUSTRIES),
                         rnd.choice(REGIONS), employees))
    lead_rows, event_rows, outcome_rows = [], [], []
    event_id = 0
    for lead in range(1, leads + 1):
        account = rnd.choice(accounts)
        _, _, industry, region, employees = account
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}{rnd.randrange(10**4)}@example{rnd.randrange(500)}.com"
        title = rnd.choice(TITLES)
        source = rnd.choice(SOURCES)
        created = START + timedelta(seconds=rnd.randrange(300 * 86400))
        as_of = created + SCORED_AFTER
        # A latent interest drives how much the lead does; conversion then depends on
        # what it did (in shapes a linear model of counts does not have) and on who it is.
        interest = rnd.gauss(0, 1)
        small = employees < 50
        events = []

        def add(kind, at, props=None, channel=None):
            events.append((kind, at, props, channel))

        # Web sessions: pages, seconds, pricing pages viewed; more with interest.
        for _ in range(max(0, int(rnd.expovariate(1 / max(0.3, 3 + 2.5 * interest))))):
            at = created + timedelta(seconds=rnd.randrange(120 * 86400))
            pages = 1 + int(rnd.expovariate(1 / 4))
            seconds = int(pages * rnd.uniform(20, 120))
            pricing = sum(1 for _ in range(pages) if rnd.random() < 0.08 + 0.06 * max(interest, 0))
            add("session", at, {"pages": pages, "seconds": seconds, "pricing_views": pricing,
                                "device": rnd.choice(["desktop", "mobile", "tablet"])})
        # Marketing touches: emails sent, opened, clicked.
        for _ in range(rnd.randrange(2, 12)):
            at = created + timedelta(seconds=rnd.randrange(120 * 86400))
            add("email_sent", at, {"campaign": f"c{rnd.randrange(30)}"}, "outbound")
            if rnd.random() < 0.35 + 0.1 * interest:
                add("email_open", at + timedelta(hours=rnd.randrange(1, 48)), None, "inbound")
                if rnd.random() < 0.3 + 0.1 * interest:
                    add("email_click", at + timedelta(hours=rnd.randrange(2, 72)), None, "inbound")
        # Demos: interested leads book one, some book several (only the first matters).
        demos = 0
        if rnd.random() < sigmoid(-1.3 + 1.1 * interest):
            demos = 1 + int(rnd.expovariate(1 / 1.5))
        for _ in range(demos):
            add("demo", created + timedelta(seconds=rnd.randrange(45 * 86400)))
        for _ in range(rnd.randrange(0, 3)):
            add("webinar", created + timedelta(seconds=rnd.randrange(120 * 86400)))
        # Sales activities, connected or not.
        for _ in range(rnd.randrange(0, 6)):
            add("call", created + timedelta(seconds=rnd.randrange(120 * 86400)),
                {"outcome": "connected" if rnd.random() < 0.4 + 0.1 * interest else "voicemail"},
                "outbound")
        # An opportunity, sometimes, with a value.
        if rnd.random() < sigmoid(-2.2 + 0.9 * interest):
            amount = round(math.exp(rnd.gauss(9.5, 1.0)), 2)
            add("opportunity", created + timedelta(seconds=rnd.randrange(60 * 86400)),
                {"amount": amount, "stage": rnd.choice(["discovery", "proposal", "negotiation"])})

        # Conversion, from what happened before the instant only.
        seen = [e for e in events if e[1] <= as_of]
        count = lambda kind: sum(1 for e in seen if e[0] == kind)
        pricing_views = sum(e[2]["pricing_views"] for e in seen if e[0] == "session")
        seconds = sum(e[2]["seconds"] for e in seen if e[0] == "session")
        recent = sum(1 for e in seen if e[1] > as_of - timedelta(days=7) and e[0] != "email_sent")
        connected = sum(1 for e in seen if e[0] == "call" and e[2]["outcome"] == "connected")
        amounts = [e[2]["amount"] for e in seen if e[0] == "opportunity"]
        logit = (-2.6
                 + (1.3 if count("demo") > 0 else 0) + 0.15 * min(max(count("demo") - 1, 0), 2)
                 + 0.7 * math.log1p(pricing_views)
                 + 0.8 * math.tanh(seconds / 1800)
                 + (0.9 if small else 0.4) * min(recent, 3) / 3
                 + 0.35 * min(connected, 2)
                 + 0.3 * min(count("email_click"), 3) / 3
                 + (0.5 * math.log10(max(amounts)) - 1.5 if amounts else 0)
                 + INDUSTRY_EFFECT.get(industry, 0) + TITLE_EFFECT.get(title, 0)
                 + SOURCE_EFFECT.get(source, 0)
                 + (0.3 if region in ("NA-East", "DACH") else 0)
                 + rnd.gauss(0, 0.6))
        converted = rnd.random() < sigmoid(logit)
        split = rnd.choices(["train", "validation", "test"], weights=[70, 15, 15])[0]
        lead_rows.append((lead, account[0], first, last, email, title, source, iso(created)))
        outcome_rows.append((lead, "t" if converted else "f", iso(as_of), split))
        for kind, at, props, channel in sorted(events, key=lambda e: e[1]):
            event_id += 1
            props_text = "\\N" if props is None else __import__("json").dumps(props, sort_keys=True)
            event_rows.append((event_id, lead, kind, iso(at), props_text, channel or "\\N"))

    def write(name, header, rows):
        with open(os.path.join(out, name), "w", newline="", encoding="utf-8") as f:
            f.write("\t".join(header) + "\n")
            for row in rows:
                f.write("\t".join(str(v) for v in row) + "\n")

    write("accounts.csv", ["id", "name", "industry", "region", "employees"], accounts)
    write("leads.csv", ["id", "account_id", "first_name", "last_name", "email", "job_title",
                        "source", "created_at"], lead_rows)
    write("events.csv", ["id", "lead_id", "kind", "occurred_at", "props", "channel"], event_rows)
    write("outcomes.csv", ["lead_id", "converted", "as_of", "split"], outcome_rows)
    return len(lead_rows), len(event_rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    n = int(sys.argv[sys.argv.index("--leads") + 1]) if "--leads" in sys.argv else 6000
    print("%d leads, %d events" % generate(sys.argv[1], n))

#!/usr/bin/env python3
"""The anchor `train()` is measured against on the second test CRM (issue 30): a plain
logistic regression (scikit-learn) on features a data scientist would engineer by hand
from the same tables, as of each lead's instant. Run once, outside the test suite; its
figures are recorded in docs/learning/README.md.

Usage: anchor.py CRM_DIR   (the directory tests/learning/generate_crm.py wrote)
Needs numpy and scikit-learn (pip install numpy scikit-learn).
"""
import csv
import json
import math
import sys
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.preprocessing import StandardScaler


def read(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def when(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S+00")


def main(crm):
    accounts = {a["id"]: a for a in read(f"{crm}/accounts.csv")}
    leads = {l["id"]: l for l in read(f"{crm}/leads.csv")}
    outcomes = read(f"{crm}/outcomes.csv")
    events = defaultdict(list)
    for e in read(f"{crm}/events.csv"):
        events[e["lead_id"]].append(e)
    kinds = ["session", "email_sent", "email_open", "email_click", "demo", "webinar", "call",
             "opportunity"]
    categories = {"industry": sorted({a["industry"] for a in accounts.values()}),
                  "region": sorted({a["region"] for a in accounts.values()}),
                  "job_title": sorted({l["job_title"] for l in leads.values()}),
                  "source": sorted({l["source"] for l in leads.values()})}

    def features(outcome):
        lead = leads[outcome["lead_id"]]
        account = accounts[lead["account_id"]]
        as_of, created = when(outcome["as_of"]), when(lead["created_at"])
        seen = [e for e in events[lead["id"]] if when(e["occurred_at"]) <= as_of]
        props = [json.loads(e["props"]) if e["props"] != "\\N" else {} for e in seen]
        row = []
        for kind in kinds:
            n = sum(1 for e in seen if e["kind"] == kind)
            row += [n, math.log1p(n), float(n > 0)]
        sessions = [p for e, p in zip(seen, props) if e["kind"] == "session"]
        row += [math.log1p(sum(p["pricing_views"] for p in sessions)),
                math.log1p(sum(p["seconds"] for p in sessions)),
                math.log1p(sum(p["pages"] for p in sessions))]
        touches = [e for e in seen if e["kind"] != "email_sent"]
        recent = sum(1 for e in touches if when(e["occurred_at"]) > as_of - timedelta(days=7))
        first_week = sum(1 for e in touches if when(e["occurred_at"]) < created + timedelta(days=7))
        last = max((when(e["occurred_at"]) for e in touches), default=None)
        row += [recent, math.log1p(recent), first_week,
                (as_of - last).days if last else 60, float(last is None)]
        row += [math.log1p(sum(1 for e, p in zip(seen, props)
                               if e["kind"] == "call" and p.get("outcome") == "connected"))]
        amounts = [p["amount"] for e, p in zip(seen, props) if e["kind"] == "opportunity"]
        row += [math.log10(max(amounts)) if amounts else 0.0]
        row += [math.log(int(account["employees"]))]
        values = {"industry": account["industry"], "region": account["region"],
                  "job_title": lead["job_title"], "source": lead["source"]}
        for column, levels in categories.items():
            row += [float(values[column] == level) for level in levels]
        return row

    split = defaultdict(lambda: ([], []))
    for outcome in outcomes:
        x, y = split[outcome["split"]]
        x.append(features(outcome))
        y.append(outcome["converted"] == "t")
    (xt, yt), (xv, yv), (xs, ys) = (tuple(map(np.array, split[s])) for s in
                                    ("train", "validation", "test"))
    scale = StandardScaler().fit(xt)
    print(f"leads: train {len(yt)}, validation {len(yv)}, test {len(ys)}; features {xt.shape[1]}")
    best = None
    for c in (0.01, 0.03, 0.1, 0.3, 1.0):
        model = LogisticRegression(C=c, max_iter=5000).fit(scale.transform(xt), yt)
        auc = roc_auc_score(yv, model.predict_proba(scale.transform(xv))[:, 1])
        print(f"  logistic regression C={c}: validation AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, model)
    _, c, model = best
    p = model.predict_proba(scale.transform(xs))[:, 1]
    print(f"logistic regression (C={c}, chosen on validation): test AUC {roc_auc_score(ys, p):.4f}, "
          f"Brier {brier_score_loss(ys, p):.4f}, log loss {log_loss(ys, p):.4f}")
    boosted = HistGradientBoostingClassifier(random_state=0).fit(xt, yt)
    print(f"gradient boosting (for reference): test AUC "
          f"{roc_auc_score(ys, boosted.predict_proba(xs)[:, 1]):.4f}")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Straightforward pandas baseline of capstat's transform (bench only).

Reads the raw tables exported by `benchtransform prepare` (csv/*.csv) and
computes the same main results as the SQL models: typed staging of projects,
steps, proposals, votes, contributions and replies (JSON payloads, local
wall-clock → UTC), step phases, activity attribution to steps,
participation_daily (with cumulative totals), phase_summary,
budget_comparison (with the Gini of votes) and budget_categories.

Usage: pandas_transform.py CSV_DIR
Prints one JSON line: seconds, daily_votes, budget_editions.
"""
import json
import re
import sys
import time

import numpy as np
import pandas as pd

COST_QUESTION = "coût estimé de votre projet (en euros)"
WINNERS = {"Vote gagné", "Lauréat", "Lauréate", "Gagnant", "Retenu", "Réalisé", "En cours de réalisation"}
NUM = re.compile(r"\d[\d .,']*\d|\d")


def parse_cost(text):
    if not isinstance(text, str) or not text.strip():
        return np.nan
    s = text.lower().replace("\u00a0", " ").replace("\u202f", " ")
    nums = NUM.findall(s)
    if len(nums) != 1 or "%" in s:
        return np.nan
    tok = nums[0]
    rest = s[s.index(tok) + len(tok):].strip()
    mult = 1.0
    if rest.startswith("k"):
        mult = 1e3
    elif rest.startswith("m€") or rest.startswith("million") or rest == "m":
        mult = 1e6
    groups = re.split(r"[ ']", tok)
    if any(len(re.match(r"\d*", g).group()) != 3 for g in groups[1:]):
        return np.nan
    t = "".join(groups)
    if "," in t and "." in t:
        if t.rfind(",") > t.rfind("."):
            t = t.replace(".", "").replace(",", ".")
        else:
            t = t.replace(",", "")
    elif t.count(",") + t.count(".") > 1:
        t = t.replace(",", "").replace(".", "")
    elif "," in t or "." in t:
        sep = "," if "," in t else "."
        i = t.index(sep)
        t = t[:i] + t[i + 1:] if len(t) - i - 1 == 3 and mult == 1 else t.replace(sep, ".")
    try:
        return round(float(t) * mult)
    except ValueError:
        return np.nan


def load(d, name):
    df = pd.read_csv(f"{d}/{name}.csv", dtype=str, keep_default_na=False, na_values=[""])
    if "deleted_run" in df:
        df = df[df["deleted_run"].isna()]
    return df


def to_utc(local, tz):
    """local: Series of 'YYYY-MM-DD HH:MM:SS' strings; tz: Series of zone names."""
    out = pd.Series(pd.NaT, index=local.index, dtype="datetime64[ns, UTC]")
    ts = pd.to_datetime(local, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    for zone, idx in tz.groupby(tz).groups.items():
        out.loc[idx] = (ts.loc[idx].dt.tz_localize(zone, ambiguous=False, nonexistent="shift_backward")
                        .dt.tz_convert("UTC"))
    return out


def main(d):
    t0 = time.perf_counter()
    sources = pd.read_csv(f"{d}/sources.csv", dtype=str)
    tzmap = dict(zip(sources["source"], sources["timezone"].fillna("Europe/Paris")))

    projects = load(d, "projects")
    pp = projects["payload"].map(json.loads)
    projects = pd.DataFrame({
        "source": projects["source"].values, "project_id": projects["id"].values,
        "title": [p.get("title") for p in pp],
        "api_contributors": [((p.get("contributors") or {}).get("totalCount")) for p in pp],
    })

    steps = load(d, "steps")
    sp = steps["payload"].map(json.loads)
    steps = pd.DataFrame({
        "source": steps["source"].values, "step_id": steps["id"].values, "project_id": steps["project_id"].values,
        "position": steps["position"].astype(int).values,
        "type": [p.get("__typename") for p in sp],
        "start": [((p.get("timeRange") or {}).get("startAt")) for p in sp],
        "end": [((p.get("timeRange") or {}).get("endAt")) for p in sp],
    })
    steps = steps.merge(projects[["source", "project_id"]], on=["source", "project_id"])
    tz = steps["source"].map(tzmap)
    steps["start"], steps["end"] = to_utc(steps["start"], tz), to_utc(steps["end"], tz)

    props = load(d, "proposals")
    rows = []
    for src, pid, proj, author, payload in zip(props["source"], props["id"], props["project_id"], props["author_id"], props["payload"]):
        p = json.loads(payload)
        cost_text = None
        for r in p.get("responses") or []:
            if r and ((r.get("question") or {}).get("title") or "").strip().lower() == COST_QUESTION:
                cost_text = r.get("value")
        sels = [(s["step"]["id"], (s.get("status") or {}).get("name")) for s in p.get("selections") or []]
        rows.append((src, pid, proj, author, p.get("createdAt"), p.get("publishedAt"), bool(p.get("trashed")),
                     (p.get("category") or {}).get("name"), (p.get("theme") or {}).get("title"), sels,
                     parse_cost(cost_text)))
    props = pd.DataFrame(rows, columns=["source", "proposal_id", "project_id", "author_id", "created", "published",
                                        "trashed", "category", "theme", "selections", "cost"])
    props = props.merge(projects[["source", "project_id"]], on=["source", "project_id"])
    tz = props["source"].map(tzmap)
    props["created"], props["published"] = to_utc(props["created"], tz), to_utc(props["published"], tz)

    sel = props[["source", "proposal_id", "selections"]].explode("selections").dropna(subset=["selections"])
    sel["step_id"] = sel["selections"].map(lambda x: x[0])
    sel["status"] = sel["selections"].map(lambda x: x[1])
    sel = sel.drop(columns="selections").merge(steps[["source", "step_id", "position"]], on=["source", "step_id"], how="left")
    last = (sel.dropna(subset=["status"]).sort_values("position").groupby(["source", "proposal_id"]).tail(1)
            [["source", "proposal_id", "status"]])
    props = props.merge(last, on=["source", "proposal_id"], how="left")
    props["winner"] = props["status"].isin(WINNERS)

    votes = load(d, "proposal_votes")
    vp = votes["payload"].map(json.loads)
    votes = pd.DataFrame({"source": votes["source"].values, "vote_id": votes["id"].values,
                          "proposal_id": votes["proposal_id"].values,
                          "created": [p.get("createdAt") for p in vp],
                          "published": [p.get("published", True) is not False for p in vp]})
    votes = votes[votes["published"]].merge(props[["source", "proposal_id", "project_id"]], on=["source", "proposal_id"])
    votes["created"] = to_utc(votes["created"], votes["source"].map(tzmap))

    # step phases: a selection step with a vote of one of its proposals in its range is a vote phase
    sv = sel.merge(votes[["source", "proposal_id", "created"]], on=["source", "proposal_id"]).merge(
        steps[["source", "step_id", "start", "end"]], on=["source", "step_id"])
    sv = sv[(sv["start"].isna() | (sv["created"] >= sv["start"])) & (sv["end"].isna() | (sv["created"] <= sv["end"]))]
    voted = set(zip(sv["source"], sv["step_id"]))
    phase = {"CollectStep": "deposit", "ConsultationStep": "consultation", "QuestionnaireStep": "questionnaire"}
    steps["phase"] = [("vote" if (s, i) in voted else "selection") if t == "SelectionStep" else phase.get(t, "other")
                      for s, i, t in zip(steps["source"], steps["step_id"], steps["type"])]

    contribs = load(d, "contributions")
    cp = contribs["payload"].map(json.loads)
    contribs = pd.DataFrame({"source": contribs["source"].values, "id": contribs["id"].values,
                             "project_id": contribs["project_id"].values,
                             "created": [p.get("createdAt") for p in cp]})
    contribs["created"] = to_utc(contribs["created"], contribs["source"].map(tzmap))
    replies = load(d, "replies")
    rp = replies["payload"].map(json.loads)
    replies = pd.DataFrame({"source": replies["source"].values, "project_id": replies["project_id"].values,
                            "step_id": replies["step_id"].values, "author_id": replies["author_id"].values,
                            "created": [p.get("createdAt") for p in rp]})
    replies["created"] = to_utc(replies["created"], replies["source"].map(tzmap))

    # activity attribution
    dated = steps[steps["start"].notna() | steps["end"].notna() | (steps["phase"] == "vote")]

    def attribute(ev, key, prio):
        m = ev.merge(dated[["source", "project_id", "step_id", "phase", "start", "end", "position"]],
                     on=["source", "project_id"], how="left")
        ok = (m["start"].isna() | (m["created"] >= m["start"])) & (m["end"].isna() | (m["created"] <= m["end"]))
        m.loc[~ok, ["step_id", "phase"]] = np.nan
        m["prio"] = m["phase"].map(prio).fillna(9)
        m = m.sort_values(["prio", "position"], ascending=[True, False]).drop_duplicates(key)
        return m[["source", "project_id", "step_id", "created"]].fillna({"step_id": ""})

    va = attribute(votes[["source", "vote_id", "project_id", "created"]], ["source", "vote_id"], {"vote": 0, "deposit": 1})
    ca = attribute(contribs[["source", "id", "project_id", "created"]], ["source", "id"], {"consultation": 0})
    pa = pd.DataFrame({"source": props["source"], "project_id": props["project_id"],
                       "step_id": "", "created": props["published"].fillna(props["created"]),
                       "author": props["author_id"]})
    act = pd.concat([pa.assign(kind="proposal"), va.assign(kind="vote", author=np.nan),
                     ca.assign(kind="contribution", author=np.nan),
                     replies.rename(columns={"author_id": "author"}).assign(kind="reply")], ignore_index=True)
    act = act[act["created"].notna()]
    act["day"] = [c.tz_convert(tzmap[s]).date() for c, s in zip(act["created"], act["source"])]
    keys = ["source", "project_id", "step_id", "day"]
    daily = pd.crosstab([act[k] for k in keys], act["kind"]).reset_index()
    for k in ("proposal", "vote", "contribution", "reply"):
        if k not in daily:
            daily[k] = 0
    known = act[act["author"].notna()]
    daily = daily.merge(known.groupby(keys)["author"].nunique().rename("contributors").reset_index(), on=keys, how="left")
    daily = daily.sort_values(keys)
    for k in ("proposal", "vote", "contribution", "reply"):
        daily["cumulative_" + k] = daily.groupby(["source", "project_id", "step_id"])[k].cumsum()

    # phase summary
    vact = act[act["kind"] == "vote"].merge(steps[["source", "step_id", "end"]], on=["source", "step_id"])
    vact["last7"] = vact["created"] > vact["end"] - pd.Timedelta(days=7)
    ps = vact.groupby(["source", "step_id"]).agg(votes=("last7", "size"), last7=("last7", "sum")).reset_index()
    ps["share"] = ps["last7"] / ps["votes"]
    phase_summary = steps.merge(ps, on=["source", "step_id"], how="left")

    # budget comparison
    budget = steps[steps["type"] == "CollectStep"][["source", "project_id"]].drop_duplicates()
    vc = votes.groupby(["source", "proposal_id"]).size().rename("votes").reset_index()
    ep = props[~props["trashed"]].merge(budget, on=["source", "project_id"]).merge(vc, on=["source", "proposal_id"], how="left")
    ep["votes"] = ep["votes"].fillna(0)

    def gini(x):
        x = np.sort(x.to_numpy(dtype=float))
        n, s = len(x), x.sum()
        return np.nan if s == 0 else 2 * np.sum(np.arange(1, n + 1) * x) / (n * s) - (n + 1) / n

    g = ep.groupby(["source", "project_id"])
    bc = pd.DataFrame({
        "proposals": g.size(), "votes": g["votes"].sum(), "winners": g["winner"].sum(),
        "cost_total": ep[ep["winner"]].groupby(["source", "project_id"])["cost"].sum(min_count=1),
        "votes_gini": g["votes"].apply(gini),
    }).reset_index()
    authors = pd.concat([props[["source", "project_id", "author_id"]], replies[["source", "project_id", "author_id"]]]).dropna()
    bc = bc.merge(authors.groupby(["source", "project_id"])["author_id"].nunique().rename("authors").reset_index(),
                  on=["source", "project_id"], how="left").merge(projects, on=["source", "project_id"])
    bc["participants"] = np.maximum(bc["api_contributors"].astype(float).fillna(0), bc["authors"].fillna(0))
    bc["winner_rate"] = bc["winners"] / bc["proposals"]

    # budget categories
    cats = []
    for dim in ("category", "theme"):
        c = ep.assign(label=ep[dim].fillna("(aucun)")).groupby(["source", "project_id", "label"]).agg(
            proposals=("proposal_id", "size"), votes=("votes", "sum"), winners=("winner", "sum")).reset_index()
        tot = c.groupby(["source", "project_id"])[["proposals", "votes"]].transform("sum")
        c["proposals_share"] = c["proposals"] / tot["proposals"]
        c["votes_share"] = c["votes"] / tot["votes"].replace(0, np.nan)
        cats.append(c.assign(dimension=dim))
    cats = pd.concat(cats)

    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "daily_votes": int(daily["vote"].sum()), "budget_editions": len(bc),
                      "daily_rows": len(daily), "phase_rows": len(phase_summary), "category_rows": len(cats)}))


if __name__ == "__main__":
    main(sys.argv[1])

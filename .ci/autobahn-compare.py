#!/usr/bin/env python3
"""Compare the real Autobahn|Testsuite's verdicts with our runner's Autobahn-compatible pair.

Usage: autobahn-compare.py --peer NAME [--agent AGENT] --autobahn INDEX_JSON --ours REPORT_JSON
       [--autobahn ... --ours ...] [--expected FILE] [--write FILE]

--autobahn: the index.json of a wstest report directory ({agent: {case id: {"behavior",
"behaviorClose", ...}}}); --ours: examples/conformance's report.json (both repeatable, e.g.
one pair for groups 1-10 and one for groups 12-13). Every case id in both is compared on
`behavior` and `behaviorClose`; a table of the differences is printed and the exit status is
1 on any difference, or on an id Autobahn ran that ours did not.

--expected FILE (tests/conformance/expected-PEER.json): a difference where both verdicts are
among the alternatives that file already allows for the id ("OK|NON-STRICT": a race in the
peer, seen both ways in our own runs) is printed as a race and does not fail.

--write FILE stores Autobahn's verdicts (id -> {"behavior", "behaviorClose"}).
"""

import argparse
import json
import sys


def id_key(case_id):
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--agent")
    ap.add_argument("--autobahn", action="append", default=[])
    ap.add_argument("--ours", action="append", default=[])
    ap.add_argument("--expected")
    ap.add_argument("--write")
    args = ap.parse_args()
    if not args.autobahn or not args.ours:
        print(f"{args.peer}: no reports to compare")
        return 1

    real = {}
    for path in args.autobahn:
        index = load(path)
        if args.agent and args.agent in index:
            real.update(index[args.agent])
        elif len(index) == 1:
            real.update(next(iter(index.values())))
        else:
            print(f"{args.peer}: agent {args.agent!r} not in {path} (agents: {sorted(index)})")
            return 1
    ours = {}
    for path in args.ours:
        report = load(path)
        ours.update({c["id"]: c["autobahn"] for c in report["cases"] if c.get("autobahn")})
    allowed = load(args.expected) if args.expected else {}

    if args.write:
        with open(args.write, "w") as f:
            f.write("{\n")
            ids = sorted(real, key=id_key)
            for i, cid in enumerate(ids):
                r = real[cid]
                sep = "," if i + 1 < len(ids) else ""
                f.write(f'  "{cid}": {{"behavior": "{r["behavior"]}", "behaviorClose": "{r["behaviorClose"]}"}}{sep}\n')
            f.write("}\n")

    shared = sorted(set(real) & set(ours), key=id_key)
    missing = sorted(set(real) - set(ours), key=id_key)
    diffs, races = [], []
    for cid in shared:
        a, o = real[cid], ours[cid]
        pair_a = (a["behavior"], a["behaviorClose"])
        pair_o = (o["behavior"], o["behaviorClose"])
        if pair_a == pair_o:
            continue
        row = (cid, *pair_a, *pair_o)
        exp = allowed.get(cid, {})
        alts = [set(exp.get(col, "").split("|")) for col in ("behavior", "behaviorClose")]
        if all(pair_a[i] == pair_o[i] or (len(alts[i]) > 1 and {pair_a[i], pair_o[i]} <= alts[i]) for i in range(2)):
            races.append(row)
        else:
            diffs.append(row)

    agree = len(shared) - len(diffs) - len(races)
    line = f"{args.peer}: {agree}/{len(shared)} shared ids agree on both columns"
    if races:
        line += f", {len(races)} differ within a known race ({', '.join(r[0] for r in races)})"
    if diffs:
        line += f", {len(diffs)} DIFFER"
    if missing:
        line += f"; {len(missing)} ids of Autobahn's not run by ours: {', '.join(missing)}"
    print(line)
    rows = [(*r, "race (expected file allows both)") for r in races] + [(*r, "DIFFERENCE") for r in diffs]
    if rows:
        w = max(len(r[0]) for r in rows)
        print(f"  {'case':<{w}}  {'Autobahn behavior':<18} {'behaviorClose':<16} {'ours behavior':<18} {'behaviorClose':<16} ")
        for cid, ab, abc, ob, obc, what in rows:
            print(f"  {cid:<{w}}  {ab:<18} {abc:<16} {ob:<18} {obc:<16} {what}")
    return 1 if diffs or missing else 0


if __name__ == "__main__":
    sys.exit(main())

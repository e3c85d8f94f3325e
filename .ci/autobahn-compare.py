#!/usr/bin/env python3
"""Compare the real Autobahn|Testsuite's verdicts with our runner's Autobahn-compatible pair.

Usage: autobahn-compare.py --peer NAME [--agent AGENT] AUTOBAHN_INDEX_JSON OUR_REPORT_JSON
       [--write FILE]

AUTOBAHN_INDEX_JSON is the index.json of a wstest report directory ({agent: {case id:
{"behavior", "behaviorClose", ...}}}); OUR_REPORT_JSON is examples/conformance's
report.json. Every case id present in both is compared on `behavior` and `behaviorClose`;
a table of the differences is printed, and the exit status is 1 on any difference (or on an
id Autobahn ran that our runner did not). --write FILE stores Autobahn's verdicts (id ->
{"behavior", "behaviorClose"}) as a checked-in reference.
"""

import argparse
import json
import sys


def id_key(case_id):
    return [int(p) if p.isdigit() else p for p in case_id.split(".")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--agent")
    ap.add_argument("--write")
    ap.add_argument("autobahn")
    ap.add_argument("ours")
    args = ap.parse_args()

    with open(args.autobahn) as f:
        index = json.load(f)
    if args.agent and args.agent in index:
        real = index[args.agent]
    elif len(index) == 1:
        real = next(iter(index.values()))
    else:
        print(f"{args.peer}: agent {args.agent!r} not in {args.autobahn} (agents: {sorted(index)})")
        return 1
    with open(args.ours) as f:
        report = json.load(f)
    ours = {c["id"]: c["autobahn"] for c in report["cases"] if c.get("autobahn")}

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
    diffs = []
    for cid in shared:
        a, o = real[cid], ours[cid]
        if (a["behavior"], a["behaviorClose"]) != (o["behavior"], o["behaviorClose"]):
            diffs.append((cid, a["behavior"], a["behaviorClose"], o["behavior"], o["behaviorClose"]))

    agree = len(shared) - len(diffs)
    print(f"{args.peer}: {agree}/{len(shared)} shared ids agree on both columns"
          + (f"; {len(missing)} ids of Autobahn's not run by ours: {', '.join(missing)}" if missing else ""))
    if diffs:
        w = max(len(d[0]) for d in diffs)
        print(f"  {'case':<{w}}  {'Autobahn behavior':<18} {'behaviorClose':<16} {'ours behavior':<18} behaviorClose")
        for cid, ab, abc, ob, obc in diffs:
            print(f"  {cid:<{w}}  {ab:<18} {abc:<16} {ob:<18} {obc}")
    return 1 if diffs or missing else 0


if __name__ == "__main__":
    sys.exit(main())

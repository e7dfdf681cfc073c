#!/usr/bin/env python3
# Medians/p99 of the phase timestamps written by the profiling agent (run-profile.sh), in us.
import sys
rows=[dict(kv.split('=') for kv in l.split()) for l in open(sys.argv[1])]
keys=['send','park','crit','wake','drain','lastdep','notice','pause']
def sv(x):
    x=int(x)
    return x-2**64 if x>=2**63 else x
def q(v,p): v=sorted(v); return v[min(len(v)-1,max(0,int(-(-p*len(v)//100))-1))]
print(f"n={len(rows)} threads={rows[0]['threads']}  " + "  ".join(f"{k}: med {q([sv(r[k]) for r in rows],50)/1e3:.1f} p99 {q([sv(r[k]) for r in rows],99)/1e3:.1f}" for k in keys))

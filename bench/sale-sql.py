#!/usr/bin/env python3
"""The SQL the service runs per sale, from src/libtraffic/statements/ (as the build
embeds it, by its embed.awk), for the benchmarks: the worker's sale
statement (sale.sql) and the sidecar's outcome record of its message
(outbox_record.sql; the sidecar's claim is left out), with the values the service binds for a sale of
bench/sale.lua, bound the same way (parameters of prepared statements, so
PostgreSQL parses the JSON, numbers and times per sale as it does for the
service).  The sales go to their own chat (-1002).

    sale-sql.py pgbench VARS   pgbench script on stdout, its -D options in VARS
    sale-sql.py single N       N sales for `postgres --single -j` on stdout
"""
import glob
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL = f"{SRC}/src/libtraffic/statements"


def statement(name):
    """The text of statement name, as the service sends it."""
    files = sorted(glob.glob(f"{SQL}/*.sql"))
    out = subprocess.run(["awk", "-v", "mode=print", "-v", f"name={name}",
                          "-f", f"{SQL}/embed.awk"] + files, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


P = "leads%5Bstatus%5D%5B0%5D%5B"
CF = P + "custom_fields%5D%5B"
BODY = "&".join([
    P + "id%5D=1", P + "name%5D=Bench+deal+1", P + "status_id%5D=142",
    P + "old_status_id%5D=143", P + "pipeline_id%5D=10418746",
    P + "price%5D=100000", P + "responsible_user_id%5D=8000001",
    CF + "0%5D%5Bid%5D=700001", CF + "0%5D%5Bname%5D=utm_source",
    CF + "0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=instagram",
    CF + "0%5D%5Bcode%5D=UTM_SOURCE", CF + "1%5D%5Bid%5D=700002",
    CF + "1%5D%5Bname%5D=utm_campaign",
    CF + "1%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=tripwire_dec20",
    CF + "1%5D%5Bcode%5D=UTM_CAMPAIGN",
    "account%5Bsubdomain%5D=onaiagencykz&account%5Bid%5D=31000001"])
RAW = ('{"id":"1","name":"Bench deal 1","status_id":"142",'
       '"old_status_id":"143","pipeline_id":"10418746","price":"100000",'
       '"responsible_user_id":"8000001","custom_fields":[{"id":"700001",'
       '"name":"utm_source","values":[{"value":"instagram"}],'
       '"code":"UTM_SOURCE"},{"id":"700002","name":"utm_campaign",'
       '"values":[{"value":"tripwire_dec20"}],"code":"UTM_CAMPAIGN"}]}')
# $1 is the lead id; parameters not listed are NULL (no enrichment); "sale"
# is the statement of a sale without a conversion
VALUES = {2: "Bench deal 1", 3: "100000", 4: "KZT",
          5: "Main Product (VAMUS RM)", 6: "Kenesary", 7: "\U0001F451",
          8: "instagram", 10: "tripwire_dec20", 14: "10418746", 15: "142",
          16: "8000001", 17: "2026-11-25 10:00:00.123456+00",
          18: "pending", 19: RAW, 20: '{"-1002"}', 21: "{NULL}",
          22: "amocrm_traffic", 23: "leads.status", 25: BODY, 26: "traffic",
          27: "skipped"}
NPARAMS = 30
# the outcome "sent", as outbox.c's tr_outbox_record binds it
RECORD = ["sent", "1", None, "0", None, "0", "0", "50", "86400"]


def pgbench(varsfile):
    sale = statement("sale")
    for k in range(NPARAMS, 0, -1):
        sale = sale.replace("$%d" % k, ":lid" if k == 1 else
                            ":p%d" % k if k in VALUES else "NULL")
    with open(varsfile, "w", encoding="utf-8") as f:
        for k, v in VALUES.items():
            f.write("-Dp%d=%s\n" % (k, v))
        f.write("-Dsent=sent\n-Dmid=1\n-Dzero=0\n-Dattempts=50\n"
                "-Dage=86400\n")
    # then its message (found by the lead, as a claim would) recorded sent
    print("\\set lid random(100000000000, 9000000000000)")
    print(sale + ";")
    print("SELECT traffic_outbox_record((SELECT id FROM notification_outbox"
          " WHERE lead_id = :lid), :sent, :mid, NULL, :zero, NULL, :zero,"
          " :zero, :attempts, :age);")


def single(n):
    def q(v):
        return "NULL" if v is None else "'" + v.replace("'", "''") + "'"
    print("PREPARE s AS " + statement("sale") + ";\n")
    print("PREPARE r AS " + statement("outbox_record") + ";\n")
    for i in range(1, n + 1):
        args = [str(5000000 + i)] + [q(VALUES.get(k))
                                     for k in range(2, NPARAMS + 1)]
        print("EXECUTE s(" + ", ".join(args) + ");\n")
        # one chat: sale i's message is outbox row i
        print("EXECUTE r(%d, %s);\n" % (i, ", ".join(q(v) for v in RECORD)))
    # a statement PostgreSQL re-plans per execution costs twice as much
    print("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements"
          " ORDER BY name;\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "pgbench":
        pgbench(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "single":
        single(int(sys.argv[2]))
    else:
        sys.exit(__doc__)

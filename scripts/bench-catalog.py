#!/usr/bin/env python3
"""Write a benchmark data set: N files of random bytes in a Dataverse file store and the SQL
that loads their catalog rows into a database made by sql/catalog/dataverse-6.sql.

    scripts/bench-catalog.py STORE SQL_OUT FILES SIZE PER IDENT_FMT [MANIFEST_OUT]

Used by scripts/bench-sftp.sh and scripts/bench-spine.sh (not a test; Python 3 stdlib only).

Layout: STORE/10.5072/<identifier>/<storage name>, PER files per dataset. Dataset k
(0, 1, ...) has the DOI 10.5072/FK2/<IDENT_FMT % k> (IDENT_FMT without a "%" is used as it
is: one dataset). Storage names are Dataverse's (<hex ms of the createdate>-<hex index>);
createdates start at 2022-05-01 12:00:00 and tie in groups of 10 files, 1.25 s apart.
The checksums (MD5) are those of the bytes written. MANIFEST_OUT, when given, gets
"<md5>  <relative path>" lines sorted by path (for `md5sum -c` in a copy).
"""
import datetime as dt
import hashlib
import os
import sys


def main(argv):
    if len(argv) not in (7, 8):
        sys.exit(__doc__)
    store, sql_path = argv[1], argv[2]
    n, size, per, fmt = int(argv[3]), int(argv[4]), int(argv[5]), argv[6]
    man_path = argv[7] if len(argv) == 8 else None
    base = dt.datetime(2022, 5, 1, 12, 0, 0)
    nds = (n + per - 1) // per
    ts = lambda i: base + dt.timedelta(milliseconds=1250 * (i // 10))
    stamp = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    dv = ["1\tDataverse\t\\N\t2022-01-01 00:00:00\t2022-01-01 00:00:00\t\\N\t\\N\t\\N\t\\N\t\\N"]
    dsr, dfr, man, idents = [], [], [], {}
    for k in range(nds):
        ident = "FK2/" + (fmt % k if "%" in fmt else fmt)
        idents[k] = ident
        t = stamp(ts(k * per))
        dv.append("%d\tDataset\t1\t%s\t%s\tdoi\t10.5072\t%s\t/\tfile://10.5072/%s" % (2 + k, t, t, ident, ident))
        dsr.append("%d\t1" % (2 + k))
        os.makedirs(os.path.join(store, "10.5072", ident), exist_ok=True)
    chunk = 8 << 20
    for i in range(n):
        k = i // per
        when = ts(i)
        name = "%011x-%012x" % (int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1000), i)
        rel = os.path.join("10.5072", idents[k], name)
        h = hashlib.md5()
        with open(os.path.join(store, rel), "wb") as f:
            left = size
            while left > 0:
                data = os.urandom(min(chunk, left))
                h.update(data)
                f.write(data)
                left -= len(data)
        fid = nds + 2 + i
        t = stamp(when)
        dv.append("%d\tDataFile\t%d\t%s\t%s\t\\N\t\\N\t\\N\t\\N\tfile://%s" % (fid, 2 + k, t, t, name))
        dfr.append("%d\tMD5\t%s\tapplication/octet-stream\t%d\tA\tf\t-1" % (fid, h.hexdigest(), size))
        man.append("%s  %s" % (h.hexdigest(), rel))
    if man_path:
        with open(man_path, "w") as f:
            f.write("\n".join(sorted(man, key=lambda l: l[34:])) + "\n")
    with open(sql_path, "w") as f:
        f.write("BEGIN;\n")
        f.write("COPY dvobject (id, dtype, owner_id, createdate, modificationtime, protocol, authority, identifier, separator, storageidentifier) FROM stdin;\n")
        f.write("\n".join(dv) + "\n\\.\n")
        f.write("INSERT INTO dataverse (id, alias, name, dataversetype) VALUES (1, 'root', 'Root', 'UNCATEGORIZED');\n")
        f.write("COPY dataset (id, datasettype_id) FROM stdin;\n")
        f.write("\n".join(dsr) + "\n\\.\n")
        f.write("COPY datafile (id, checksumtype, checksumvalue, contenttype, filesize, ingeststatus, restricted, rootdatafileid) FROM stdin;\n")
        f.write("\n".join(dfr) + "\n\\.\n")
        f.write("DO $$ BEGIN PERFORM setval('dvobject_id_seq', (SELECT max(id) FROM dvobject)); END $$;\n")
        f.write("COMMIT;\nANALYZE dvobject; ANALYZE dataset; ANALYZE datafile;\n")


if __name__ == "__main__":
    main(sys.argv)

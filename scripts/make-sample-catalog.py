#!/usr/bin/env python3
"""Make a small, realistic Dataverse 6.x sample: file bytes in file-store trees and an SQL
file of INSERTs for sql/catalog/dataverse-6.sql whose checksums match those bytes.

    scripts/make-sample-catalog.py --store DIR --sql OUT.sql [--seed N] [--expect OUT.tsv]

Stores (Dataverse's file-store layout: <directory>/<authority>/<identifier>/<storage name>,
aux objects such as a tabular file's saved original as <storage name>.orig):
    file   -> DIR          (storage identifiers file://<name>)
    file2  -> DIR-file2    (storage identifiers file2://<name>)

The cases it makes (see the table it prints): collections, DOI datasets (10.5072/FK2/...),
a Handle dataset (hdl 1902.1/1000N), a dataset whose files live under a storage-designating
alternativepersistentidentifier, a harvested dataset (URL storage identifiers, no bytes),
checksums MD5/SHA1/SHA256/SHA512, '' and 'Unknown', a tabular file (.orig + .tab), a file
whose ingest is scheduled ('B'), files sharing one createdate, a file committed late (older
createdate, higher id), a file missing from the store (FAIL_READ), a damaged primary copy
(FAIL_SOURCE_CHECKSUM), two files in a second store, sizes from 0 bytes to 2 MiB; every
dataset's versions (datasetversion) and file labels (filemetadata), with a draft that moves
files into folders and gives two files one name (for `dvbackup restore --names labels`).

Deterministic: the same --seed gives the same bytes, names and SQL. Python 3 stdlib only.
"""
import argparse
import datetime as dt
import hashlib
import os
import random
import sys

BASE_TIME = dt.datetime(2024, 3, 4, 9, 15, 3, 482000)  # timestamps are "local server time", no zone
STORE_SUFFIX = "-file2"


def q(v):
    """SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dt.datetime):
        return "'" + v.strftime("%Y-%m-%d %H:%M:%S.") + "%03d'" % (v.microsecond // 1000)
    return "'" + str(v).replace("'", "''") + "'"


def digest(kind, data):
    if kind in ("", "Unknown", "unknown"):
        return kind
    algo = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}[kind]
    return hashlib.new(algo, data).hexdigest()


class Sample:
    def __init__(self, seed, store, store2):
        self.rnd = random.Random(seed)
        self.store = store
        self.store2 = store2
        self.next_id = 1
        self.dvobjects = []   # dicts
        self.dataverses = []
        self.harvestingclients = []
        self.datasets = []
        self.datafiles = []
        self.datatables = []
        self.altpids = []
        self.versions = []       # datasetversion rows
        self.filemetadatas = []  # filemetadata rows
        self.file_labels = {}    # dataset id -> [(datafile id, label, directorylabel, published)]
        self.dataset_info = {}   # dataset id -> (created, published)
        self.drafts = {}         # dataset id -> {datafile id: (label, directorylabel)} in its draft
        self.files_written = []  # (path, bytes)
        self.cases = []          # (id, storageidentifier, case, expected, path or '')
        self.used_names = set()
        self.used_pids = set()
        self.missing = []        # paths that must not exist (the FAIL_READ case)

    # -- helpers -----------------------------------------------------------------------
    def new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def storage_name(self, when):
        """Dataverse's form: <hex of epoch ms>-<last 12 hex of a random UUID>."""
        ms = int(when.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
        while True:
            name = "%x-%012x" % (ms, self.rnd.getrandbits(48))
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def shoulder_id(self, prefix="FK2/"):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        while True:
            ident = prefix + "".join(self.rnd.choice(alphabet) for _ in range(6))
            if ident not in self.used_pids:
                self.used_pids.add(ident)
                return ident

    def text_bytes(self, n, header="id,name,value\n"):
        words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
        out = [header]
        size = len(header)
        row = 1
        while size < n:
            line = "%d,%s,%d\n" % (row, self.rnd.choice(words), self.rnd.randint(0, 99999))
            out.append(line)
            size += len(line)
            row += 1
        return "".join(out).encode()[:n] if n else b""

    def random_bytes(self, n):
        return self.rnd.randbytes(n)

    # -- objects -----------------------------------------------------------------------
    def dvobject(self, dtype, owner, created, **kw):
        oid = self.new_id()
        row = dict(id=oid, dtype=dtype, owner_id=owner, createdate=created,
                   modificationtime=kw.pop("modificationtime", created + dt.timedelta(seconds=2)),
                   publicationdate=kw.pop("publicationdate", None),
                   protocol=None, authority=None, identifier=None, separator=None,
                   storageidentifier=None, globalidcreatetime=None, identifierregistered=None,
                   previewimageavailable=False, creator_id=1, releaseuser_id=None)
        row.update(kw)
        self.dvobjects.append(row)
        return oid

    def collection(self, alias, name, owner, created, dvtype="UNCATEGORIZED", storagedriver=None):
        oid = self.dvobject("Dataverse", owner, created, publicationdate=created + dt.timedelta(minutes=1))
        self.dataverses.append(dict(id=oid, alias=alias, name=name, dataversetype=dvtype,
                                    storagedriver=storagedriver, permissionroot=True,
                                    facetroot=owner is None, metadatablockroot=owner is None,
                                    templateroot=False, themeroot=True, guestbookroot=False))
        return oid

    def dataset(self, owner, created, protocol, authority, identifier, published=True,
                harvestingclient_id=None, harvestidentifier=None, storagedriver=None,
                store_authority=None, store_identifier=None):
        """store_authority/identifier: where the dataset's files live (default: its PID)."""
        sep = "/" if protocol in ("doi", "hdl") else ""
        sid = None
        if harvestingclient_id is None:
            sid = "file://%s/%s" % (store_authority or authority, store_identifier or identifier)
        oid = self.dvobject("Dataset", owner, created,
                            publicationdate=(created + dt.timedelta(hours=1)) if published else None,
                            protocol=protocol, authority=authority, identifier=identifier,
                            separator=sep, storageidentifier=sid, globalidcreatetime=created,
                            identifierregistered=published)
        self.dataset_info[oid] = (created, published)
        self.datasets.append(dict(id=oid, datasettype_id=1, harvestingclient_id=harvestingclient_id,
                                  harvestidentifier=harvestidentifier, storagedriver=storagedriver,
                                  fileaccessrequest=False, usegenericthumbnail=False))
        return dict(id=oid, authority=store_authority or authority,
                    identifier=store_identifier or identifier, created=created)

    def datafile(self, ds, created, data, case, expected, *, ctype="application/octet-stream",
                 ctype_kind="MD5", store="file", write=True, damage=False, ingeststatus="A",
                 checksum=None, storageidentifier=None, tabular=None, filesize=None,
                 published=True, label=None, directory=None):
        """Add one datafile of dataset ds whose main object holds `data`.

        tabular: dict(orig=bytes, ...) -> `data` is the .tab, the checksum is of orig.
        checksum: force the stored value ('' / 'Unknown'); default: digest of the bytes.
        label, directory: the name users know the file by (filemetadata.label, .directorylabel).
        """
        name = self.storage_name(created)
        if storageidentifier is None:
            storageidentifier = "%s://%s" % (store, name)
        checked_bytes = tabular["orig"] if tabular else data
        value = checksum if checksum is not None else digest(ctype_kind, checked_bytes)
        oid = self.dvobject("DataFile", ds["id"], created,
                            publicationdate=(created + dt.timedelta(hours=1)) if published else None,
                            storageidentifier=storageidentifier,
                            previewimageavailable=False)
        self.datafiles.append(dict(id=oid, checksumtype=ctype_kind, checksumvalue=value,
                                   contenttype=ctype,
                                   filesize=len(data) if filesize is None else filesize,
                                   ingeststatus=ingeststatus, restricted=False, rootdatafileid=-1,
                                   previousdatafileid=None))
        path = ""
        if storageidentifier.startswith(store + "://"):
            root = self.store if store == "file" else self.store2
            path = os.path.join(root, ds["authority"], ds["identifier"], name)
        if not write and path:
            self.missing.append(path)
            path = ""
        if write:
            on_disk = data
            if damage:
                # Same size, one byte flipped in the middle: the primary copy rotted.
                b = bytearray(data)
                b[len(b) // 2] ^= 0x5A
                on_disk = bytes(b)
            self.files_written.append((path, on_disk))
            if tabular:
                self.files_written.append((path + ".orig", tabular["orig"]))
                self.datatables.append(dict(datafile_id=oid, unf=tabular["unf"],
                                            casequantity=tabular["cases"],
                                            varquantity=tabular["vars"], recordspercase=None,
                                            originalfileformat=tabular["format"],
                                            originalfilename=tabular["filename"],
                                            originalfilesize=len(tabular["orig"]),
                                            originalformatversion=None,
                                            storedwithvariableheader=False))
        self.cases.append((oid, storageidentifier, case, expected, path))
        ext = {"text/plain": ".txt", "text/csv": ".csv", "application/zip": ".zip", "image/png": ".png",
               "application/pdf": ".pdf", "text/tab-separated-values": ".tab"}.get(ctype, ".bin")
        self.file_labels.setdefault(ds["id"], []).append(
            (oid, label or "file-%d%s" % (oid, ext), directory, published))
        return oid

    def make_versions(self, drafts):
        """datasetversion and filemetadata rows: a published dataset has a RELEASED 1.0 with its
        published files; a dataset with unpublished files, or one in `drafts` (dataset id ->
        {datafile id: (label, directorylabel)}: files renamed or moved in the draft), also has a
        DRAFT (its latest version) with every file. An unpublished dataset has only a DRAFT."""
        vid = 0
        for ds_id, files in self.file_labels.items():
            created, published = self.dataset_info[ds_id]
            renamed = drafts.get(ds_id, {})
            released = [f for f in files if f[3]] if published else []
            if released:
                vid += 1
                when = created + dt.timedelta(hours=1)
                self.versions.append(dict(id=vid, dataset_id=ds_id, versionnumber=1, minorversionnumber=0,
                                          versionstate="RELEASED", createtime=created, lastupdatetime=when,
                                          releasetime=when, version=1))
                for (oid, label, directory, _) in released:
                    self.filemetadatas.append(dict(datafile_id=oid, datasetversion_id=vid, label=label,
                                                   directorylabel=directory, restricted=False, version=1))
            if not released or renamed or len(released) < len(files):
                vid += 1
                when = created + dt.timedelta(days=1)
                self.versions.append(dict(id=vid, dataset_id=ds_id, versionnumber=None, minorversionnumber=None,
                                          versionstate="DRAFT", createtime=when, lastupdatetime=when,
                                          releasetime=None, version=1))
                for (oid, label, directory, _) in files:
                    label, directory = renamed.get(oid, (label, directory))
                    self.filemetadatas.append(dict(datafile_id=oid, datasetversion_id=vid, label=label,
                                                   directorylabel=directory, restricted=False, version=1))

    # -- the sample --------------------------------------------------------------------
    def build(self):
        t = BASE_TIME
        root = self.collection("root", "Root", None, t - dt.timedelta(days=30))
        harvested_dv = self.collection("harvested", "Harvested from Remote Archive", root,
                                       t - dt.timedelta(days=20), dvtype="RESEARCH_PROJECTS")
        self.harvestingclients.append(dict(id=1, name="remote-archive",
                                           archiveurl="https://archive.example.org",
                                           harvestingurl="https://archive.example.org/oai",
                                           harvesttype="oai", harveststyle="dataverse",
                                           metadataprefix="oai_dc", dataverse_id=harvested_dv,
                                           deleted=False, harvestingnow=False, scheduled=False))
        lab = self.collection("lab", "Lab of Examples", root, t - dt.timedelta(days=10),
                              dvtype="LABORATORY")

        # Dataset 1 (DOI): created with 5 files in one command -> one shared createdate.
        c1 = t
        ds1 = self.dataset(lab, c1, "doi", "10.5072", self.shoulder_id())
        readme = self.datafile(ds1, c1, self.text_bytes(200, "README\n"), "MD5, text, shared createdate",
                               "OK", ctype="text/plain", ctype_kind="MD5", label="README.txt")
        empty = self.datafile(ds1, c1, b"", "MD5, 0 bytes, shared createdate", "OK",
                              ctype="text/plain", ctype_kind="MD5", label="notes.txt")
        archive = self.datafile(ds1, c1, self.random_bytes(2 * 1024 * 1024), "SHA1, 2 MiB, shared createdate",
                                "OK", ctype="application/zip", ctype_kind="SHA1", label="raw-data.zip")
        figure = self.datafile(ds1, c1, self.random_bytes(65536 + 123), "SHA256, 64 KiB, shared createdate",
                               "OK", ctype="image/png", ctype_kind="SHA256", label="figure.png",
                               directory="figures")
        paper = self.datafile(ds1, c1, self.random_bytes(300 * 1024 + 7), "SHA512, 300 KiB, shared createdate",
                              "OK", ctype="application/pdf", ctype_kind="SHA512", label="paper.pdf")
        # The draft (the latest version) moves files into folders; two files get the same
        # name there, which a restore by labels makes unique ("notes (2).txt").
        self.drafts = {ds1["id"]: {readme: ("README.txt", "docs"), empty: ("notes.txt", "docs"),
                                   archive: ("raw-data.zip", "data"), figure: ("figure.png", "data/figures"),
                                   paper: ("notes.txt", "docs")}}
        # An alternative PID that does NOT designate storage: must not change the path.
        self.altpids.append(dict(dvobject_id=ds1["id"], protocol="doi", authority="10.5072",
                                 identifier=self.shoulder_id("FK2/ALIAS"),
                                 storagelocationdesignator=False, identifierregistered=True))

        # Dataset 2 (DOI): a tabular file, and a file whose ingest is scheduled.
        c2 = t + dt.timedelta(minutes=7, milliseconds=421)
        ds2 = self.dataset(lab, c2, "doi", "10.5072", self.shoulder_id())
        orig = self.text_bytes(5000)
        tab = orig.decode().split("\n", 1)[1].replace(",", "\t").encode()  # no header row
        self.datafile(ds2, c2, tab, "tabular: .orig checksummed (MD5), .tab differs", "OK",
                      ctype="text/tab-separated-values", ctype_kind="MD5",
                      label="survey.tab",
                      tabular=dict(orig=orig, unf="UNF:6:%s==" % "".join(
                                       self.rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
                                       for _ in range(22)),
                                   cases=orig.count(b"\n") - 1, vars=3, format="text/csv",
                                   filename="survey.csv"))
        c2b = c2 + dt.timedelta(minutes=3, milliseconds=5)
        self.datafile(ds2, c2b, self.text_bytes(1500), "ingest scheduled (ingeststatus 'B')",
                      "deferred ingest", ctype="text/csv", ctype_kind="MD5", ingeststatus="B",
                      published=False)

        # Dataset 3 (DOI): no usable checksums, a missing file, a damaged primary copy.
        c3 = t + dt.timedelta(minutes=31, milliseconds=77)
        ds3 = self.dataset(lab, c3, "doi", "10.5072", self.shoulder_id())
        self.datafile(ds3, c3, self.random_bytes(4096), "checksumvalue '' (old import)",
                      "OK_NO_CHECKSUM", ctype_kind="MD5", checksum="")
        self.datafile(ds3, c3, self.text_bytes(777), "checksumvalue 'Unknown'",
                      "OK_NO_CHECKSUM", ctype="text/csv", ctype_kind="MD5", checksum="Unknown")
        c3b = c3 + dt.timedelta(minutes=1, milliseconds=250)
        self.datafile(ds3, c3b, self.random_bytes(10000), "missing from the store", "FAIL_READ",
                      ctype_kind="MD5", write=False)
        self.datafile(ds3, c3b, self.random_bytes(20000), "bytes differ from checksum (damaged primary)",
                      "FAIL_SOURCE_CHECKSUM", ctype_kind="SHA256", damage=True)

        # Dataset 4 (DOI): files in two stores (one dataset, several stores).
        c4 = t + dt.timedelta(hours=1, minutes=2, milliseconds=903)
        ds4 = self.dataset(lab, c4, "doi", "10.5072", self.shoulder_id(), storagedriver="file2")
        self.datafile(ds4, c4, self.random_bytes(1024 * 1024 + 513), "second store file2, 1 MiB",
                      "OK", store="file2", ctype_kind="MD5")
        self.datafile(ds4, c4, self.text_bytes(3000), "second store file2, SHA512", "OK",
                      store="file2", ctype="text/csv", ctype_kind="SHA512")
        self.datafile(ds4, c4 + dt.timedelta(seconds=40), self.text_bytes(900),
                      "default store file, same dataset", "OK", ctype="text/csv", ctype_kind="SHA1")

        # Dataset 5 (Handle): hdl:1902.1/10001; one file committed late: its createdate is older
        # than the files before it, its id higher.
        c5 = t + dt.timedelta(hours=2, milliseconds=12)
        ds5 = self.dataset(lab, c5, "hdl", "1902.1", "10001")
        self.datafile(ds5, c5, self.random_bytes(50000), "Handle dataset, SHA1", "OK",
                      ctype_kind="SHA1")
        self.datafile(ds5, c4 + dt.timedelta(seconds=20), self.text_bytes(1200),
                      "late commit: older createdate, higher id", "OK", ctype="text/csv",
                      ctype_kind="MD5", published=False)

        # Dataset 6: PID provider changed; files stay under the old DOI, recorded as a
        # storage-designating alternative PID.
        c6 = t + dt.timedelta(hours=3, minutes=14, milliseconds=600)
        old_ident = self.shoulder_id()
        ds6 = self.dataset(lab, c6, "doi", "10.5073", self.shoulder_id("NEW/"),
                           store_authority="10.5072", store_identifier=old_ident)
        self.altpids.append(dict(dvobject_id=ds6["id"], protocol="doi", authority="10.5072",
                                 identifier=old_ident, storagelocationdesignator=True,
                                 identifierregistered=True))
        self.datafile(ds6, c6, self.random_bytes(8192), "files under alt PID 10.5072/" + old_ident,
                      "OK", ctype_kind="MD5")
        self.datafile(ds6, c6, self.text_bytes(2500), "files under alt PID, SHA256", "OK",
                      ctype="text/csv", ctype_kind="SHA256")

        # Dataset 7: harvested (files are URLs of the remote archive; no bytes here).
        c7 = t + dt.timedelta(hours=4, milliseconds=1)
        ds7 = self.dataset(harvested_dv, c7, "doi", "10.9999", self.shoulder_id("REMOTE/"),
                           harvestingclient_id=1,
                           harvestidentifier="oai:archive.example.org:doi:10.9999/REMOTE")
        for remote_id in (3040230, 3040231):
            fake = self.random_bytes(64)
            self.datafile(ds7, c7, fake, "harvested: remote URL", "skipped harvested",
                          label="remote-%d.bin" % remote_id,
                          ctype_kind="MD5", write=False, filesize=123456,
                          storageidentifier="https://archive.example.org/api/access/datafile/%d" % remote_id)
        self.make_versions(self.drafts)

    # -- output ------------------------------------------------------------------------
    def write_store(self):
        for path, data in self.files_written:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        # The missing file must really be missing, even if DIR holds an older sample.
        for path in self.missing:
            if os.path.exists(path):
                os.remove(path)

    def sql(self):
        out = ["-- Sample Dataverse 6.x catalog made by scripts/make-sample-catalog.py.",
               "-- Load after sql/catalog/dataverse-6.sql into an empty database.",
               "BEGIN;"]

        def insert(table, rows, cols):
            for r in rows:
                out.append("INSERT INTO %s (%s) VALUES (%s);" % (
                    table, ", ".join(cols), ", ".join(q(r.get(c)) for c in cols)))

        insert("dvobject", self.dvobjects,
               ["id", "dtype", "owner_id", "createdate", "modificationtime", "publicationdate",
                "protocol", "authority", "identifier", "separator", "storageidentifier",
                "globalidcreatetime", "identifierregistered", "previewimageavailable",
                "creator_id", "releaseuser_id"])
        insert("dataverse", self.dataverses,
               ["id", "alias", "name", "dataversetype", "storagedriver", "permissionroot",
                "facetroot", "metadatablockroot", "templateroot", "themeroot", "guestbookroot"])
        insert("harvestingclient", self.harvestingclients,
               ["id", "name", "archiveurl", "harvestingurl", "harvesttype", "harveststyle",
                "metadataprefix", "dataverse_id", "deleted", "harvestingnow", "scheduled"])
        insert("dataset", self.datasets,
               ["id", "datasettype_id", "harvestingclient_id", "harvestidentifier",
                "storagedriver", "fileaccessrequest", "usegenericthumbnail"])
        insert("datafile", self.datafiles,
               ["id", "checksumtype", "checksumvalue", "contenttype", "filesize",
                "ingeststatus", "restricted", "rootdatafileid", "previousdatafileid"])
        insert("datatable", self.datatables,
               ["datafile_id", "unf", "casequantity", "varquantity", "recordspercase",
                "originalfileformat", "originalfilename", "originalfilesize",
                "originalformatversion", "storedwithvariableheader"])
        insert("datasetversion", self.versions,
               ["id", "dataset_id", "versionnumber", "minorversionnumber", "versionstate",
                "createtime", "lastupdatetime", "releasetime", "version"])
        insert("filemetadata", self.filemetadatas,
               ["datafile_id", "datasetversion_id", "label", "directorylabel", "restricted", "version"])
        insert("alternativepersistentidentifier", self.altpids,
               ["dvobject_id", "protocol", "authority", "identifier",
                "storagelocationdesignator", "identifierregistered"])
        out.append("DO $$ BEGIN"
                   " PERFORM setval('dvobject_id_seq', (SELECT max(id) FROM dvobject));"
                   " PERFORM setval('harvestingclient_id_seq', (SELECT max(id) FROM harvestingclient));"
                   " PERFORM setval('datasetversion_id_seq', (SELECT max(id) FROM datasetversion));"
                   " END $$;")
        out.append("COMMIT;")
        return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="directory of the file store 'file' "
                    "(the store 'file2' goes to DIR%s)" % STORE_SUFFIX)
    ap.add_argument("--sql", required=True, help="SQL file of INSERTs to write")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--expect", help="also write a TSV: datafile id, storage identifier, "
                    "expected outcome, case")
    a = ap.parse_args()

    store = os.path.abspath(a.store).rstrip("/")
    store2 = store + STORE_SUFFIX
    s = Sample(a.seed, store, store2)
    s.build()
    os.makedirs(store, exist_ok=True)
    os.makedirs(store2, exist_ok=True)
    s.write_store()
    with open(a.sql, "w") as f:
        f.write(s.sql())
    if a.expect:
        with open(a.expect, "w") as f:
            f.write("datafile_id\tstorageidentifier\texpected\tcase\n")
            for oid, sid, case, expected, _ in s.cases:
                f.write("%d\t%s\t%s\t%s\n" % (oid, sid, expected, case))

    print("STORE_file=%s" % store)
    print("STORE_file2=%s" % store2)
    print("SQL=%s" % os.path.abspath(a.sql))
    print("DATAFILES=%d" % len(s.cases))
    w_id = max(len("id"), max(len(str(c[0])) for c in s.cases))
    w_sid = max(len(c[1]) for c in s.cases)
    w_exp = max(len(c[3]) for c in s.cases)
    print("%-*s  %-*s  %-*s  %s" % (w_id, "id", w_exp, "expected", w_sid, "storageidentifier", "case"))
    for oid, sid, case, expected, _ in s.cases:
        print("%-*d  %-*s  %-*s  %s" % (w_id, oid, w_exp, expected, w_sid, sid, case))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""BRIGHT data as tsqr's typed records: the one door the rest of tsqr loads BRIGHT-shaped data through.

Usage:
    from tsqr.bright import load_domain, check_domain
    domain = load_domain("demo", "demo")               # "hub", "demo", a folder, files, a zip, Anserini topics + qrels
    for warning in check_domain(domain).warnings(): print(warning)

Modules: `domains` (load_domain: pick the loader, apply the rules common to all sources; check_domain),
`sources` (one loader per layout: hub, hub copy, Anserini folder, loose files), `rows` (table rows -> Example and
Document with file/row/field errors), `files` (reading parquet/jsonl/json[.gz], TSV and qrels, rows counted as
they stream), `bounded` (capped streaming reads), `unzip` (capped zip extraction), `names` (safe domain names),
`ids` (the rules every id passes where it enters). The caps (bytes, rows, id and text lengths) come from
tsqr.limits; errors are tsqr.errors.DataError.
"""
from tsqr.bright.domains import (
    BRIGHT_DOMAINS,
    LONG_DOCUMENT_DOMAINS,
    DataCheck,
    canonical_domain,
    check_domain,
    load_domain,
)
from tsqr.errors import DataError
from tsqr.bright.files import Table, detect_format, read_json_value, read_table
from tsqr.bright.names import safe_name
from tsqr.bright.sources import hub_split_files, load_documents, read_hub_split

__all__ = [
    "BRIGHT_DOMAINS", "LONG_DOCUMENT_DOMAINS", "DataCheck", "DataError", "Table", "canonical_domain",
    "check_domain", "detect_format", "hub_split_files", "load_documents", "load_domain", "read_hub_split",
    "read_json_value", "read_table", "safe_name",
]

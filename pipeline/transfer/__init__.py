"""Export and import a team's whole pipeline: the `pipebot/1` JSON format, and CSV.

JSON is the lossless backup format; CSV is for spreadsheets and other CRMs' exports. This package
is the pure part, by format and direction: `json_import`/`csv_import` read and validate files into
import plans (`plan`), `json_export`/`csv_export` write export records. `storage.transfer` reads
and writes the database and offers `export_team`, `export_csv`, `import_team` and `import_csv`.
"""

from pipeline.transfer.plan import CSV_COLUMNS, FORMAT, ImportResult

__all__ = ["CSV_COLUMNS", "FORMAT", "ImportResult"]

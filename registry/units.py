"""Engineering units of a program's variables, from a ``units.csv`` sent beside the program
(``plclink transfer prog.py units.csv``): ``name,unit`` lines, an optional ``variable,unit``
header, ``#`` comments. The trend labels its curves with them (``level [%]``)."""
import csv
import io

UNITS_FILE = "units.csv"


def parse_units(data: bytes | None) -> dict:
    """{variable name: unit}; a file that is not text or not two columns gives what it can."""
    if not data:
        return {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    units = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 2 or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        name, unit = row[0].strip(), row[1].strip()
        if (name.lower(), unit.lower()) == ("variable", "unit") or not unit:
            continue
        units[name] = unit[:32]
    return units
